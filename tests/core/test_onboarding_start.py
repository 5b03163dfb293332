"""A friendly start: the banner line naming each platform's way in, and a busy port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from bot.config import parse_config
from connectors.endpoints import startup_banner

ROOT = Path(__file__).resolve().parents[2]
CHATOPS = Path(sys.executable).parent / "chatops"
KEY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_the_banner_lists_each_enabled_platform_and_what_to_paste_where() -> None:
    environ = {"T": "token", "S": "xoxb-bot", "A": "xapp-app", "D": "discord", "W": "hook"}
    config = parse_config(
        {
            "bot": {"public_url": "https://bot.example.com/"},
            "github": {"enabled": True, "token": "env:T", "webhook_secrets": ["env:W"]},
            "gitlab": {"enabled": True, "token": "env:T", "webhook_tokens": ["env:W"]},
            "slack": {"enabled": True, "bot_token": "env:S", "app_token": "env:A"},
            "discord": {
                "enabled": True,
                "bot_token": "env:D",
                "application_id": "123456789012345678",
                "public_key": KEY,
            },
        },
        environ,
        base_dir=ROOT,
    )
    bare = parse_config({}, {}, base_dir=ROOT)

    assert startup_banner(config, "1.2.3") == (
        "chatops-bridge 1.2.3: github (webhook https://bot.example.com/webhooks/github), "
        "gitlab (webhook https://bot.example.com/webhooks/gitlab), slack (Socket Mode), "
        "discord (gateway; interactions https://bot.example.com/discord/interactions)"
    )
    assert startup_banner(bare, "1.2.3") == (
        "chatops-bridge 1.2.3: no platform enabled; `chatops shell` reaches the bot"
    )


def test_a_busy_port_is_one_clear_line_not_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS")}
    env["CHATOPS__LOGGING__LEVEL"] = "WARNING"
    subprocess.run(
        [str(CHATOPS), "migrate"], cwd=tmp_path, env=env, check=True, capture_output=True
    )
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [str(CHATOPS), "serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    # Log lines are JSON (stderr is no terminal); what is not a log line is the message alone.
    plain = [line for line in result.stderr.splitlines() if not line.startswith('{"at": ')]
    assert (result.returncode, result.stdout) == (1, "")
    assert plain == [
        f"chatops: 127.0.0.1:{port} is already in use (another chatops serve?): stop that "
        "process, or choose another port with --port or server.port"
    ]


def test_migrate_needs_only_the_database(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATOPS", "SLACK"))}
    env["CHATOPS__DATABASE__URL"] = "sqlite://db/bot.sqlite3"
    env["CHATOPS__SLACK__MODE"] = "http"  # an override of another section: left out too
    (tmp_path / "db").mkdir()
    (tmp_path / "chatops.toml").write_text(
        '[slack]\nenabled = true\nbot_token = "env:SLACK_BOT_TOKEN"\n', encoding="utf-8"
    )

    def chatops(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CHATOPS), *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    migrated = chatops("migrate")
    checked = chatops("check-config")

    assert (migrated.returncode, migrated.stderr) == (0, "")
    assert migrated.stdout.startswith("applied: 0001_initial, ")
    assert (tmp_path / "db/bot.sqlite3").is_file()
    assert (checked.returncode, checked.stdout) == (1, "")
    assert checked.stderr == (
        "chatops: invalid configuration: slack.bot_token: refers to environment variable "
        "SLACK_BOT_TOKEN, which is not set\n"
    )
