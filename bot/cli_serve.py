"""``chatops serve``: run the bot until SIGTERM or SIGINT (``bot.web.serve``).

The features (built-in and plugins) are loaded first, then the application is composed
(``bot.app.create_app``) for the role asked (``--role``, else ``server.role``; see
``bot.loops``) with every platform the configuration enables. The event loop is uvloop's
when it can be imported (CPython on Linux and macOS, where it is a dependency), else
asyncio's own; the log says which, and which role, at start-up. Only ``serve`` picks its
loop: the other sub-commands and the tests run on asyncio's.

Exit 1, with the reason on stderr: a database or platform that cannot start, or an
address already in use.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import sys
from collections.abc import Callable
from importlib import import_module

from bot.app import create_app
from bot.cli_plugins import loaded_features
from bot.config import Config
from bot.logs import configure_logging
from bot.loops import as_role
from bot.platforms import StartupError
from bot.store.database import DatabaseError
from bot.version import version
from bot.web import serve as serve_app
from connectors.endpoints import startup_banner

EXIT_OK = 0
EXIT_ERROR = 1

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def event_loop() -> tuple[str, LoopFactory | None]:
    """The event loop ``serve`` runs on: uvloop's when importable, else asyncio's
    (``None``: the default factory)."""
    try:
        uvloop = import_module("uvloop")
    except ImportError:
        return "asyncio", None
    factory: LoopFactory = uvloop.new_event_loop
    return "uvloop", factory


def serve(config: Config, args: argparse.Namespace) -> int:
    loaded = loaded_features(sys.stderr, getattr(args, "plugins", None))
    if loaded is None:
        return EXIT_ERROR
    log = configure_logging(
        config.logging.level,
        config.logging.format,
        [secret.reveal() for secret in config.config_secrets()],
        sys.stderr,
    )
    log.info("%s", startup_banner(config, version()))
    role = as_role(args.role or config.server.role)
    loop_name, loop_factory = event_loop()
    log.info("role %s, on the %s event loop", role, loop_name)
    app = create_app(
        config, features=loaded.features, configured_platforms=True, log=log, role=role
    )
    host = args.host or config.server.host
    port = config.server.port if args.port is None else args.port
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(serve_app(app, host=host, port=port, log=log))
    except (DatabaseError, StartupError) as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(
            f"chatops: {host}:{port} is already in use (another chatops serve?): stop that "
            "process, or choose another port with --port or server.port",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return EXIT_OK
