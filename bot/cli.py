"""The ``chatops`` command: init, doctor, serve, shell, plugins, migrate, check-config,
dead-letters, github, gitlab, slack, discord, report-usage.

Which configuration file: ``--config PATH``, else ``$CHATOPS_CONFIG``, else
``chatops.toml`` in the working directory when it exists (what ``chatops init`` writes),
else built-in defaults; ``CHATOPS__SECTION__KEY`` variables override either. A
configuration error is printed with its key path and exits 1, before anything
else happens. ``report-usage`` (what CI runs, see ``bot.secrets.usage_client``) reads no
configuration at all.

Each sub-command lives in a module of its own (``bot.cli_<name>``, see ``COMMANDS``),
imported only when that sub-command runs: ``chatops migrate`` loads the store, not
discord.py, Slack's SDK, the forge clients or the web server. Invariant: this module
imports only the standard library and ``bot.init``; the configuration's modules when a
sub-command reads one; ``report-usage``'s options when its parser is reached.

``serve`` refuses to start on a database with unapplied migrations and says to
run ``chatops migrate``. ``shell`` is a local front door that uses the same
pipeline (``bot.cli_shell``). Every sub-command that reads the configuration, but
``migrate`` (the database section alone), loads the plugins (``bot.plugins``) first, so
that their settings sections are validated with the rest; one that cannot be loaded is
named, exit 1. The loaded plugins reach the sub-command as ``args.plugins``, so that
``serve``, ``shell`` and ``plugins`` set up the very features whose sections were read.
The application itself is composed in ``bot.app``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.init import DEFAULT_PATH, InitError, next_steps, write_config

if TYPE_CHECKING:
    from bot.config import Config

EXIT_OK = 0
EXIT_ERROR = 1

# sub-command -> "module:function" that runs it, given the configuration and the arguments
COMMANDS: dict[str, str] = {
    "doctor": "bot.cli_doctor:doctor",
    "serve": "bot.cli_serve:serve",
    "shell": "bot.cli_shell:shell",
    "plugins": "bot.cli_plugins:plugins",
    "migrate": "bot.cli_migrate:migrate",
    "dead-letters": "bot.cli_dead_letters:run",
    "github": "bot.cli_github:github",
    "gitlab": "bot.cli_gitlab:gitlab",
    "slack": "bot.cli_slack:slack",
    "discord": "bot.cli_discord:discord",
}
# what serve --role accepts: the values of server.role (bot.config.settings, bot.loops)
ROLES = ("all", "web", "worker")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    environ = dict(os.environ)
    if args.command == "report-usage":
        return int(_resolve("bot.secrets.usage_client:run")(args, environ, sys.stdout, sys.stderr))
    if args.command == "init":
        return _init(Path(args.path), args.force)
    path = (
        getattr(args, "path", None)
        or args.config
        or environ.get("CHATOPS_CONFIG")
        or (str(DEFAULT_PATH) if DEFAULT_PATH.is_file() else None)
    )
    # imported here: the settings' rules (cron syntax, time zones) cost init and
    # report-usage, which read no configuration, nothing
    from bot.config import ConfigError, load_config, render_config
    from bot.plugins import PluginError, load_plugins, plugin_sections

    command: str = args.command
    # migrate needs only the database: a connector's unset secret must not stop it, nor a
    # plugin's section
    only = ("database",) if command == "migrate" else None
    try:
        args.plugins = () if only else tuple(load_plugins())
        sections = plugin_sections(args.plugins)
    except PluginError as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_ERROR
    try:
        config = load_config(path, environ, only=only, sections=sections)
    except ConfigError as exc:
        print(f"chatops: invalid configuration: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if command in ("check-config", "serve") and not _serves(config):
        return EXIT_ERROR
    if command == "check-config":
        print(render_config(config), end="")
        return EXIT_OK
    run: Callable[[Config, argparse.Namespace], int] = _resolve(COMMANDS[command])
    return run(config, args)


def _serves(config: Config) -> bool:
    """Say what serve's integrations would refuse, before anything starts."""
    from bot.config.errors import combine  # imported here: not every sub-command checks
    from bot.config.serving import serve_problems

    problems = serve_problems(config)
    if problems:
        print(f"chatops: invalid configuration: {combine(problems)}", file=sys.stderr)
    return not problems


def _resolve(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(import_module(module), name)


class _Parser(argparse.ArgumentParser):
    """A parser whose options may come from another module, added when it is reached: so
    that the options of one sub-command cost the others nothing."""

    deferred: str | None = None  # "module:function" that adds the options

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        if self.deferred is not None:
            add_arguments, self.deferred = _resolve(self.deferred), None
            add_arguments(self)
        return super().parse_known_args(args, namespace)


class _Version(argparse.Action):
    """``--version``: the version is read from the package metadata only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.update(nargs=0, default=argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        from bot.version import version  # imported here: --version is rarely asked

        print(f"chatops-bridge {version()}")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="chatops", description="chatops-bridge")
    parser.add_argument("--config", "-c", help="configuration file (default: $CHATOPS_CONFIG)")
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    init = sub.add_parser("init", help="write a commented configuration file to start from")
    init.add_argument("path", nargs="?", default=str(DEFAULT_PATH), help="default: chatops.toml")
    init.add_argument("--force", action="store_true", help="replace an existing file")
    doctor = sub.add_parser(
        "doctor",
        help="check the configuration, the database, each platform's credentials and webhooks",
    )
    doctor.add_argument(
        "--repo",
        action="append",
        default=[],
        metavar="REPO",
        help="also check this repository's webhook (github:OWNER/REPO, gitlab:GROUP/PROJECT; "
        "unprefixed: on each enabled forge); repeatable",
    )
    serve = sub.add_parser("serve", help="run the bot: web endpoints, workers, scheduler")
    serve.add_argument("--host", help="override server.host")
    serve.add_argument("--port", type=int, help="override server.port")
    serve.add_argument(
        "--role",
        choices=ROLES,
        help="override server.role: web (front doors only), worker (workers and "
        "scheduler only) or all",
    )
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
    group_setup = gitlab_sub.add_parser(
        "setup-group",
        help="create or update the group's webhook, for all its projects (idempotent; "
        "GitLab Premium or Ultimate, Owner role)",
    )
    group_setup.add_argument("group", metavar="GROUP")
    group_setup.add_argument(
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
    report.deferred = "bot.secrets.usage_client:add_arguments"
    check = sub.add_parser("check-config", help="print the effective configuration")
    check.add_argument("path", nargs="?", help="configuration file to check")
    return parser


def _init(path: Path, force: bool) -> int:
    try:
        write_config(path, force=force)
    except InitError as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(next_steps(path), end="")
    return EXIT_OK
