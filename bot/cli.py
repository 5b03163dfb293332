"""The ``chatops`` command: init, doctor, serve, shell, plugins, migrate, check-config,
dead-letters, github, gitlab, slack, discord, report-usage.

Which configuration file: ``--config PATH``, else ``$CHATOPS_CONFIG``, else
``chatops.toml`` in the working directory when it exists (what ``chatops init`` writes),
else built-in defaults; ``CHATOPS__SECTION__KEY`` variables override either. A
configuration error is printed with its key path and exits 1, before anything
else happens. ``report-usage`` (what CI runs, see ``bot.secrets.usage_client``) reads no
configuration at all.

``serve`` refuses to start on a database with unapplied migrations and says to
run ``chatops migrate``. ``shell`` is a local front door that uses the same
pipeline (``bot.cli_shell``). ``serve``, ``shell`` and ``plugins`` load the plugins
(``bot.plugins``) before anything else; one that cannot be loaded is named, exit 1.
The application itself is composed in ``bot.app``.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import aiohttp

from bot.app import create_app, load_features
from bot.cli_dead_letters import dead_letters
from bot.cli_plugins import describe_features
from bot.cli_shell import run_shell
from bot.clock import SystemClock
from bot.config import Config, ConfigError, load_config, render_config
from bot.config.errors import combine
from bot.config.platforms.slack import HTTP, SOCKET
from bot.config.serving import serve_problems
from bot.doctor import diagnose, failed, render
from bot.features import Feature
from bot.init import DEFAULT_PATH, InitError, next_steps, write_config
from bot.logs import configure_logging
from bot.platforms import StartupError
from bot.plugins import PluginError
from bot.secrets.usage_client import add_arguments as add_report_usage_arguments
from bot.secrets.usage_client import run as run_report_usage
from bot.store.database import DatabaseError, open_database
from bot.web import serve, version
from connectors.discord.invite import InviteError, invite_url
from connectors.doctor import platform_checks, webhook_platforms
from connectors.endpoints import startup_banner
from connectors.github.create_app import CreateAppError, CreateAppOptions, register_app
from connectors.github.create_app import describe as describe_app
from connectors.github.setup import SetupError, describe, setup_repo
from connectors.gitlab.setup import SetupError as GitLabSetupError
from connectors.gitlab.setup import describe as describe_project
from connectors.gitlab.setup import setup_project
from connectors.slack.manifest import slack_manifest

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    environ = dict(os.environ)
    if args.command == "report-usage":
        return run_report_usage(args, environ, sys.stdout, sys.stderr)
    if args.command == "init":
        return _init(Path(args.path), args.force)
    path = (
        getattr(args, "path", None)
        or args.config
        or environ.get("CHATOPS_CONFIG")
        or (str(DEFAULT_PATH) if DEFAULT_PATH.is_file() else None)
    )
    try:
        # migrate needs only the database: a connector's unset secret must not stop it
        config = load_config(
            path, environ, only=("database",) if args.command == "migrate" else None
        )
    except ConfigError as exc:
        print(f"chatops: invalid configuration: {exc}", file=sys.stderr)
        return EXIT_ERROR
    command: str = args.command
    problems = serve_problems(config) if command in ("check-config", "serve") else ()
    if problems:  # what serve's integrations would refuse, said before anything starts
        print(f"chatops: invalid configuration: {combine(problems)}", file=sys.stderr)
        return EXIT_ERROR
    if command == "check-config":
        print(render_config(config), end="")
        return EXIT_OK
    if command == "migrate":
        return asyncio.run(_migrate(config))
    if command in ("serve", "shell", "plugins"):
        return _with_features(config, args)
    if command == "dead-letters":
        return asyncio.run(dead_letters(config, args.retry, args.retry_all))
    if command == "github" and args.github_command == "create-app":
        return asyncio.run(_github_create_app(config, args))
    if command == "github":
        return asyncio.run(_github_setup_repo(config, args.repo))
    if command == "gitlab":
        return asyncio.run(_gitlab_setup_project(config, args.project, args.force))
    if command == "doctor":
        return asyncio.run(_doctor(config))
    if command == "slack":
        mode = HTTP if args.http else (SOCKET if args.socket else None)
        print(json.dumps(slack_manifest(config, mode=mode), indent=2))
        return EXIT_OK
    if command == "discord":
        return _discord_invite(config, args.guild)
    raise AssertionError(f"unhandled command {command}")


def _with_features(config: Config, args: argparse.Namespace) -> int:
    """``serve``, ``shell`` and ``plugins``: the built-in features and the plugins'."""
    try:
        loaded = load_features()
    except PluginError as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.command == "plugins":
        describe_features(config, loaded, sys.stdout)
        return EXIT_OK
    if args.command == "serve":
        return _serve(config, loaded.features, args.host, args.port)
    try:
        return asyncio.run(run_shell(config, loaded.features, sys.stdin, sys.stdout, sys.stderr))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatops", description="chatops-bridge")
    parser.add_argument("--config", "-c", help="configuration file (default: $CHATOPS_CONFIG)")
    parser.add_argument("--version", action="version", version=f"chatops-bridge {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    init = sub.add_parser("init", help="write a commented configuration file to start from")
    init.add_argument("path", nargs="?", default=str(DEFAULT_PATH), help="default: chatops.toml")
    init.add_argument("--force", action="store_true", help="replace an existing file")
    sub.add_parser(
        "doctor", help="check the configuration, the database and each platform's credentials"
    )
    serve = sub.add_parser("serve", help="run the bot: web endpoints, workers, scheduler")
    serve.add_argument("--host", help="override server.host")
    serve.add_argument("--port", type=int, help="override server.port")
    sub.add_parser("shell", help="type commands as a local user (reads stdin)")
    sub.add_parser("plugins", help="list the features, built-in and from plugins, and commands")
    sub.add_parser("migrate", help="apply pending database migrations")
    dead = sub.add_parser("dead-letters", help="list replies that could not be sent, or retry them")
    retry = dead.add_mutually_exclusive_group()
    retry.add_argument("--retry", nargs="+", metavar="KEY", default=None, help="retry these")
    retry.add_argument("--retry-all", action="store_true", help="retry every dead letter")
    github = sub.add_parser("github", help="GitHub set-up tasks")
    github_sub = github.add_subparsers(dest="github_command", required=True, metavar="TASK")
    setup = github_sub.add_parser(
        "setup-repo", help="create or update a repository webhook with a fresh secret (token mode)"
    )
    setup.add_argument("repo", metavar="OWNER/REPO")
    create_app = github_sub.add_parser(
        "create-app", help="register the bot's GitHub App from a manifest (in your browser)"
    )
    create_app.add_argument("--org", help="create it for this organization (default: you)")
    create_app.add_argument("--public-url", metavar="URL", help="default: bot.public_url")
    create_app.add_argument(
        "--out", metavar="DIR", default=".", help="where the key and secret go (default: .)"
    )
    create_app.add_argument("--port", type=int, default=0, help="local port (default: any free)")
    gitlab = sub.add_parser("gitlab", help="GitLab set-up tasks")
    gitlab_sub = gitlab.add_subparsers(dest="gitlab_command", required=True, metavar="TASK")
    project_setup = gitlab_sub.add_parser(
        "setup-project", help="create or update the project's webhook (idempotent)"
    )
    project_setup.add_argument("project", metavar="GROUP/PROJECT")
    project_setup.add_argument(
        "--force", action="store_true", help="write the hook even if it looks set up (new token)"
    )
    slack = sub.add_parser("slack", help="Slack set-up tasks")
    slack_sub = slack.add_subparsers(dest="slack_command", required=True, metavar="TASK")
    manifest = slack_sub.add_parser(
        "manifest", help="print the Slack app manifest (JSON) for this configuration"
    )
    manifest_mode = manifest.add_mutually_exclusive_group()
    manifest_mode.add_argument("--http", action="store_true", help="HTTP mode (request URLs)")
    manifest_mode.add_argument("--socket", action="store_true", help="Socket Mode")
    discord_parser = sub.add_parser("discord", help="Discord set-up tasks")
    discord_sub = discord_parser.add_subparsers(
        dest="discord_command", required=True, metavar="TASK"
    )
    invite = discord_sub.add_parser(
        "invite-url", help="print the URL that adds the bot to a Discord server"
    )
    invite.add_argument("--guild", metavar="ID", help="preselect this server")
    report = sub.add_parser(
        "report-usage", help="report the secrets a CI pipeline used (no configuration needed)"
    )
    add_report_usage_arguments(report)
    check = sub.add_parser("check-config", help="print the effective configuration")
    check.add_argument("path", nargs="?", help="configuration file to check")
    return parser


async def _migrate(config: Config) -> int:
    try:
        database = await open_database(config.database.resolved_url(), require_migrated=False)
    except (DatabaseError, OSError) as exc:
        print(f"chatops: cannot open the database: {exc}", file=sys.stderr)
        return EXIT_ERROR
    try:
        applied = await database.migrate()
    finally:
        await database.close()
    if applied:
        print("applied: " + ", ".join(applied))
    else:
        print("the database is up to date")
    return EXIT_OK


async def _github_setup_repo(config: Config, repo: str) -> int:
    try:
        database = await open_database(config.database.resolved_url())
    except (DatabaseError, OSError) as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_ERROR
    timeout = aiohttp.ClientTimeout(total=config.github.request_timeout)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            result = await setup_repo(config, repo, session, SystemClock())
    except SetupError as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        await database.close()
    describe(result, repo, sys.stdout)
    return EXIT_OK


async def _github_create_app(config: Config, args: argparse.Namespace) -> int:
    options = CreateAppOptions(
        out_dir=Path(args.out), org=args.org, public_url=args.public_url, port=args.port
    )
    timeout = aiohttp.ClientTimeout(total=config.github.request_timeout)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            app = await register_app(config, options, session, sys.stdout)
    except CreateAppError as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_ERROR
    describe_app(app, config, sys.stdout)
    return EXIT_OK


async def _gitlab_setup_project(config: Config, project: str, force: bool) -> int:
    timeout = aiohttp.ClientTimeout(total=config.gitlab.request_timeout)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            result = await setup_project(config, project, session, force=force)
    except GitLabSetupError as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_ERROR
    describe_project(result, project, sys.stdout)
    return EXIT_OK


def _init(path: Path, force: bool) -> int:
    try:
        write_config(path, force=force)
    except InitError as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(next_steps(path), end="")
    return EXIT_OK


async def _doctor(config: Config) -> int:
    clock = SystemClock()
    findings = await diagnose(
        config, platform_checks(config, clock), webhook_platforms=webhook_platforms(config)
    )
    print(render(findings, [s.reveal() for s in config.config_secrets()]), end="")
    return EXIT_ERROR if failed(findings) else EXIT_OK


def _discord_invite(config: Config, guild: str | None) -> int:
    try:
        print(invite_url(config.discord.application_id, guild))
    except InviteError as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _serve(config: Config, features: Sequence[Feature], host: str | None, port: int | None) -> int:
    log = configure_logging(
        config.logging.level,
        config.logging.format,
        [secret.reveal() for secret in config.config_secrets()],
        sys.stderr,
    )
    log.info("%s", startup_banner(config, version()))
    app = create_app(config, features=features, configured_platforms=True, log=log)
    host = host or config.server.host
    port = config.server.port if port is None else port
    try:
        asyncio.run(serve(app, host=host, port=port, log=log))
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
