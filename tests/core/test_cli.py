"""The ``chatops`` command as a user runs it: real processes, whole outputs."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.web import version
from tests.shipped import MIGRATIONS, unapplied_message
from tests.snapshot import Snapshot

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"
TIMEOUT = 60.0


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def chatops(
    *args: str, cwd: Path, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**_clean_env(), "PYTHONPATH": str(ROOT), **(env or {})},
        check=False,
    )


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS")}


def test_shell_answers_ping_with_pong(workdir: Path) -> None:
    result = chatops("--config", str(EXAMPLE), "shell", cwd=workdir, stdin="ping\n")
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(rf"pong\nversion: {re.escape(version())}\nuptime: \d+s\n", result.stdout)
    assert result.stderr == "chatops: applied pending migrations to the local database\n"
    assert (workdir / "chatops.sqlite3").exists()


def test_shell_unknown_command_points_to_help(workdir: Path) -> None:
    result = chatops("--config", str(EXAMPLE), "shell", cwd=workdir, stdin="frobnicate\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "Unknown command: frobnicate\nSay `help` to see the commands you can run here.\n"
    )


def test_shell_unclosed_quote_is_a_usage_error(workdir: Path) -> None:
    result = chatops("--config", str(EXAMPLE), "shell", cwd=workdir, stdin='ping "unclosed\n')
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "Could not read that command\n"
        'Unclosed " starting at character 6.\n'
        "Put quotes around an argument that contains spaces, and close every quote.\n"
    )
    assert "Traceback" not in result.stderr


def test_shell_answers_lines_in_order_separated_by_blank_lines(
    workdir: Path, snapshot: Snapshot
) -> None:
    result = chatops("--config", str(EXAMPLE), "shell", cwd=workdir, stdin="help ping\n\nhelp\n")
    assert result.returncode == 0, result.stderr
    snapshot.check("shell_help.txt", result.stdout)


def test_check_config_names_the_broken_key(workdir: Path) -> None:
    broken = workdir / "broken.toml"
    broken.write_text('[workers]\nlease_seconds = "soon"\n')
    result = chatops("check-config", str(broken), cwd=workdir)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "chatops: invalid configuration: workers.lease_seconds: expected a number, got 'soon'\n"
    )


def test_check_config_masks_secret_references(workdir: Path) -> None:
    result = chatops(
        "check-config",
        str(EXAMPLE),
        cwd=workdir,
        env={"CHATOPS__DATABASE__URL": "env:DB_URL", "DB_URL": "postgres://bot:hunter22@db/x"},
    )
    assert result.returncode == 0, result.stderr
    assert '\n[database]\nurl = "env:DB_URL (secret, set)"\n' in result.stdout
    assert "hunter22" not in result.stdout + result.stderr


def test_serve_refuses_unapplied_migrations(workdir: Path) -> None:
    result = chatops("--config", str(EXAMPLE), "serve", "--port", "0", cwd=workdir)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == f"chatops: {unapplied_message()}"


def test_migrate_then_serve_answers_healthz_and_stops_cleanly_on_sigterm(workdir: Path) -> None:
    migrate = chatops("--config", str(EXAMPLE), "migrate", cwd=workdir)
    assert (migrate.returncode, migrate.stdout) == (0, f"applied: {', '.join(MIGRATIONS)}\n")
    again = chatops("--config", str(EXAMPLE), "migrate", cwd=workdir)
    assert (again.returncode, again.stdout) == (0, "the database is up to date\n")

    with subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(EXAMPLE), "serve", "--port", "0"],
        cwd=workdir,
        stderr=subprocess.PIPE,
        text=True,
        env={**_clean_env(), "PYTHONPATH": str(ROOT)},
    ) as server:
        try:
            url = _wait_for_listening(server)
            with urllib.request.urlopen(f"{url}/healthz", timeout=TIMEOUT) as response:
                assert (response.status, response.read()) == (200, b'{"status": "ok"}')
            with urllib.request.urlopen(f"{url}/readyz", timeout=TIMEOUT) as response:
                assert (response.status, response.read()) == (200, b'{"status": "ready"}')
        finally:
            server.send_signal(signal.SIGTERM)
            _, stderr = server.communicate(timeout=TIMEOUT)
    assert server.returncode == 0
    lines = [json.loads(line) for line in stderr.splitlines()]  # every line is JSON
    ours = [line["msg"] for line in lines if line["logger"] == "chatops"]
    assert ours[-2:] == ["shutting down", "stopped"]
    assert {"aiohttp.access", "tortoise"} <= {line["logger"] for line in lines}


def _wait_for_listening(server: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + TIMEOUT
    assert server.stderr is not None
    while time.monotonic() < deadline:
        line = server.stderr.readline()
        if not line:
            break
        found = re.search(r"listening on (http://[\d.]+:\d+)", line)
        if found:
            return found.group(1)
    raise AssertionError("the server never said where it listens")


@pytest.fixture
def no_chatops_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """``main`` reads the process environment: keep the test's own settings out of it."""
    for name in [name for name in os.environ if name.startswith("CHATOPS")]:
        monkeypatch.delenv(name)


@pytest.mark.usefixtures("no_chatops_environment")
def test_main_in_process_prints_the_effective_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    config = tmp_path / "chatops.toml"
    config.write_text('[server]\nport = 9001\n[shell]\nuser = "ops"\n')
    assert main(["check-config", str(config)]) == 0
    printed = capsys.readouterr().out
    assert '\n[server]\nhost = "127.0.0.1"\nport = 9001\nshutdown_timeout = 10.0\n' in printed
    assert '\n[shell]\nuser = "ops"\n' in printed


@pytest.mark.usefixtures("no_chatops_environment")
def test_dead_letters_are_listed_and_can_be_retried(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    from datetime import UTC, datetime

    from bot.cli import main
    from bot.messages import Outgoing, Platform, Reply, ReplyTarget
    from bot.store.database import open_database
    from bot.store.models import OutboxItem, OutboxStatus
    from bot.store.queues import OutboxQueue

    database_file = tmp_path / "bot.sqlite3"
    config = tmp_path / "chatops.toml"
    config.write_text(f'[database]\nurl = "sqlite://{database_file}"\n')
    created = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)

    async def prepare() -> None:
        database = await open_database(f"sqlite://{database_file}", require_migrated=False)
        await database.migrate()
        target = ReplyTarget(platform=Platform.SLACK, channel="C1")
        await OutboxQueue(database).enqueue(Outgoing(target, Reply(title="x"), "reply:1"), created)
        await OutboxItem.filter(key="reply:1").update(
            status=OutboxStatus.DEAD, attempts=8, last_error="gave up after 8 attempts: 500"
        )
        await database.close()

    asyncio.run(prepare())
    assert main(["--config", str(config), "dead-letters"]) == 0
    assert capsys.readouterr().out == (
        "reply:1\tslack\t8\t2026-11-20T08:30:00+00:00\tgave up after 8 attempts: 500\n"
    )
    assert main(["--config", str(config), "dead-letters", "--retry", "reply:1"]) == 0
    assert capsys.readouterr().out == "requeued 1 message(s)\n"
    assert main(["--config", str(config), "dead-letters"]) == 0
    # requeued, but no process with this configuration can send to Slack
    assert capsys.readouterr().out == (
        "no dead letters\n"
        "waiting for a connector: 1 message(s) for slack (not enabled in this configuration)\n"
    )
