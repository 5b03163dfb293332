"""The ``chatops`` sub-commands import what they use: with every connector configured,
``migrate``, ``check-config``, ``dead-letters`` and ``init`` load no platform client
library and no web server, and a bot with GitHub alone never loads discord.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# a top-level package, or a module, that only a platform or the web server needs
HEAVY = ("discord", "slack_bolt", "slack_sdk", "gidgethub", "gidgetlab", "aiohttp.web")
EVERY_CONNECTOR = """\
[github]
enabled = true
token = "env:T_GITHUB"
webhook_secrets = ["env:T_GITHUB_HOOK"]
[gitlab]
enabled = true
token = "env:T_GITLAB"
webhook_tokens = ["env:T_GITLAB_HOOK"]
[slack]
enabled = true
mode = "socket"
bot_token = "env:T_SLACK_BOT"
app_token = "env:T_SLACK_APP"
[discord]
enabled = true
application_id = "123456789012345678"
public_key = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
bot_token = "env:T_DISCORD"
"""
SECRETS = {
    "T_GITHUB": "ghp_test",
    "T_GITHUB_HOOK": "hook secret",
    "T_GITLAB": "glpat-test",
    "T_GITLAB_HOOK": "hook token",
    "T_SLACK_BOT": "xoxb-test",
    "T_SLACK_APP": "xapp-test",
    "T_DISCORD": "discord token",
}
# runs main() in a fresh interpreter, then prints its exit code and the heavy modules
PROBE = """\
import json, sys
from bot.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m in HEAVY or m.split(".")[0] in HEAVY)
print(json.dumps([code, heavy]), file=sys.stderr)
"""


def imported(args: list[str], cwd: Path) -> tuple[int, list[str]]:
    """``chatops ARGS``' exit code and the heavy modules it imported."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS")}
    result = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{PROBE}", *args],
        cwd=cwd,
        env={**environment, **SECRETS, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    code, heavy = json.loads(result.stderr.splitlines()[-1])
    return code, heavy


@pytest.fixture
def configured(tmp_path: Path) -> Path:
    config = tmp_path / "chatops.toml"
    database = tmp_path / "bot.sqlite3"
    config.write_text(f'[database]\nurl = "sqlite://{database}"\n{EVERY_CONNECTOR}')
    return config


@pytest.mark.parametrize(
    ("args", "migrated_first"),
    [
        (["migrate"], False),
        (["migrate"], True),
        (["check-config"], False),
        (["dead-letters"], True),
        (["init", "new.toml"], False),
    ],
    ids=["migrate-new", "migrate-idle", "check-config", "dead-letters", "init"],
)
def test_a_command_that_serves_nothing_loads_no_platform_and_no_web_server(
    configured: Path, args: list[str], migrated_first: bool
) -> None:
    if migrated_first:
        assert imported(["--config", str(configured), "migrate"], configured.parent)[0] == 0
    assert imported(["--config", str(configured), *args], configured.parent) == (0, [])


def test_enabled_integrations_import_only_the_enabled_platforms(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from bot.app import builtin_commands\n"
        "from bot.config import Config, Secret\n"
        "from bot.config.platforms import GitHubSettings\n"
        "from connectors.enabled import enabled_integrations\n"
        "token = Secret('env:T_GITHUB', 'ghp_test')\n"
        "config = Config(github=GitHubSettings(enabled=True, token=token))\n"
        "[github] = enabled_integrations(config, builtin_commands(config))\n"
        "heavy = ('discord', 'slack_bolt', 'slack_sdk', 'gidgetlab')\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & set(heavy))\n"
        "print(loaded, github.platform.value)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, "[] github\n"), result.stderr
