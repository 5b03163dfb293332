"""The set-up commands as a new user runs them: real processes, whole outputs.

``chatops init``, ``chatops slack manifest``, ``chatops discord invite-url``, the README's
quick start line by line, and the shell's chat-style prefixes and ``exit``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.shipped import MIGRATIONS
from tests.snapshot import Snapshot

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "config.example.toml"
CHATOPS = Path(sys.executable).parent / "chatops"  # the venv's console script
TIMEOUT = 60.0


def run(
    *args: str, cwd: Path, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHATOPS), *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**_clean_env(), **(env or {})},
        check=False,
    )


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS")}


NEXT_STEPS = """\
and you at `chatops shell` as administrator. Next:

  {c} migrate  create the database
  {c} doctor   check the configuration, the database and the enabled platforms
  {c} shell    type commands as you would in a chat: ping, help; exit to leave
  {c} serve    run the bot, once a platform's section is enabled in the file

Connecting Slack, Discord, GitHub or GitLab: README.md, Quick start.
"""


def test_init_writes_the_template_and_says_what_next(tmp_path: Path) -> None:
    result = run("init", cwd=tmp_path)

    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        "wrote chatops.toml: SQLite in chatops.sqlite3, the web server on 127.0.0.1:8080,\n"
        + NEXT_STEPS.format(c="chatops")
    )
    assert (tmp_path / "chatops.toml").read_text(encoding="utf-8") == TEMPLATE.read_text(
        encoding="utf-8"
    )


def test_init_elsewhere_spells_out_the_config_and_never_overwrites(tmp_path: Path) -> None:
    first = run("init", "etc/bot.toml", cwd=tmp_path)
    (tmp_path / "etc").mkdir()
    written = run("init", "etc/bot.toml", cwd=tmp_path)
    (tmp_path / "etc/bot.toml").write_text("# mine\n", encoding="utf-8")
    again = run("init", "etc/bot.toml", cwd=tmp_path)
    forced = run("init", "etc/bot.toml", "--force", cwd=tmp_path)

    assert (first.returncode, first.stdout) == (1, "")
    assert first.stderr == "chatops: cannot write etc/bot.toml: No such file or directory\n"
    assert written.stdout == (
        "wrote etc/bot.toml: SQLite in chatops.sqlite3, the web server on 127.0.0.1:8080,\n"
        + NEXT_STEPS.format(c="chatops --config etc/bot.toml")
    )
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr == "chatops: etc/bot.toml exists; keep it, or pass --force to replace it\n"
    assert forced.returncode == 0
    assert (tmp_path / "etc/bot.toml").read_text(encoding="utf-8") == TEMPLATE.read_text(
        encoding="utf-8"
    )


def test_slack_manifest_for_socket_mode_and_for_http(tmp_path: Path, snapshot: Snapshot) -> None:
    env = {"CHATOPS__BOT__NAME": "shipit", "CHATOPS__BOT__PUBLIC_URL": "https://bot.example.com"}
    socket = run("slack", "manifest", cwd=tmp_path, env=env)
    http = run("slack", "manifest", "--http", cwd=tmp_path, env=env)

    assert (socket.returncode, socket.stderr, http.returncode, http.stderr) == (0, "", 0, "")
    snapshot.check("slack_manifest.socket.json", socket.stdout)
    snapshot.check("slack_manifest.http.json", http.stdout)


def test_discord_invite_url_carries_the_scopes_and_permission_bits(tmp_path: Path) -> None:
    env = {"CHATOPS__DISCORD__APPLICATION_ID": "123456789012345678"}
    plain = run("discord", "invite-url", cwd=tmp_path, env=env)
    guild = run("discord", "invite-url", "--guild", "290926798626357999", cwd=tmp_path, env=env)
    missing = run("discord", "invite-url", cwd=tmp_path)

    base = (
        "https://discord.com/oauth2/authorize?client_id=123456789012345678"
        "&scope=bot+applications.commands&permissions=274877991936"
    )
    # 274877991936 = View Channels 1<<10 + Send Messages 1<<11 + Embed Links 1<<14
    #              + Read Message History 1<<16 + Send Messages in Threads 1<<38
    assert 274877991936 == (1 << 10) + (1 << 11) + (1 << 14) + (1 << 16) + (1 << 38)
    assert (plain.returncode, plain.stdout, plain.stderr) == (0, base + "\n", "")
    assert guild.stdout == base + "&guild_id=290926798626357999\n"
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == (
        "chatops: set discord.application_id "
        "(Developer Portal, General Information, Application ID)\n"
    )


def quick_start_lines() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- quick-start -->\n(.*?)<!-- /quick-start -->", readme, re.S)
    assert block is not None
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def test_the_readme_quick_start_runs_as_written(tmp_path: Path) -> None:
    """Every line of the README's quick start, in a fresh directory, through bash.

    The first two lines (make a venv, ``pip install .``) are what this test's own venv
    already did, so they are checked for their text and the rest run with that venv's
    ``bin`` first on PATH, as ``. .venv/bin/activate`` would put it.
    """
    lines = quick_start_lines()
    install, commands = lines[:2], lines[2:]
    env = {**_clean_env(), "PATH": f"{CHATOPS.parent}{os.pathsep}{os.environ['PATH']}"}

    outputs = [
        subprocess.run(
            ["bash", "-euo", "pipefail", "-c", line],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        for line in commands
    ]

    assert install == ["python3 -m venv .venv && . .venv/bin/activate", "pip install ."]
    assert commands == [
        "chatops init",
        "chatops migrate",
        "chatops doctor",
        'echo "@chatops ping" | chatops shell',
    ]
    assert [(o.returncode, o.stderr) for o in outputs] == [(0, "")] * 4
    assert outputs[1].stdout == "applied: " + ", ".join(MIGRATIONS) + "\n"
    assert outputs[2].stdout == (
        f"ok    config     {tmp_path / 'chatops.toml'}\n"
        "ok    database   sqlite: migrations applied\n"
        "note  platforms  none enabled: `chatops shell` only; enable one in the file\n"
        "all checks passed\n"
    )
    assert re.fullmatch(r"pong\nversion: \S+\nuptime: \d+s\n", outputs[3].stdout)


def test_the_shell_takes_chat_prefixes_and_stops_at_exit(tmp_path: Path) -> None:
    assert run("init", cwd=tmp_path).returncode == 0
    result = run(
        "shell",
        cwd=tmp_path,
        stdin="@chatops help ping\n/ChatOps help ping\nquit\nping\n",
    )

    help_ping = (
        "help: ping\n"
        "Check that the bot is up; shows its version and uptime.\n"
        "Needs read access.\n"
        "Usage: ping\n"
        "Examples: ping\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == help_ping + "\n" + help_ping  # nothing after quit
