"""``chatops dead-letters --retry KEY``: a key that is not a dead letter is named, exit 1."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.messages import Outgoing, Platform, Reply, ReplyTarget
from bot.store.database import open_database
from bot.store.models import OutboxItem, OutboxStatus
from bot.store.queues import OutboxQueue


@pytest.fixture(autouse=True)
def _no_chatops_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """``main`` reads the process environment: keep the test's own settings out of it."""
    for name in [name for name in os.environ if name.startswith("CHATOPS")]:
        monkeypatch.delenv(name)


def _database_with_one_dead_letter(tmp_path: Path) -> Path:
    database_file = tmp_path / "bot.sqlite3"
    config = tmp_path / "chatops.toml"
    config.write_text(f'[database]\nurl = "sqlite://{database_file}"\n')

    async def prepare() -> None:
        database = await open_database(f"sqlite://{database_file}", require_migrated=False)
        await database.migrate()
        target = ReplyTarget(platform=Platform.SLACK, channel="C1")
        now = datetime.now(UTC)
        outbox = OutboxQueue(database)
        await outbox.enqueue(Outgoing(target, Reply(title="dead"), "reply:1"), now)
        await outbox.enqueue(Outgoing(target, Reply(title="pending"), "reply:2"), now)
        await OutboxItem.filter(key="reply:1").update(status=OutboxStatus.DEAD, attempts=8)
        await database.close()

    asyncio.run(prepare())
    return config


def test_retrying_an_unknown_key_says_so_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _database_with_one_dead_letter(tmp_path)

    assert main(["--config", str(config), "dead-letters", "--retry", "reply:9"]) == 1
    assert capsys.readouterr() == ("", "chatops: no dead letter with key reply:9\n")


def test_a_pending_reply_is_not_a_dead_letter_and_the_known_key_is_still_retried(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _database_with_one_dead_letter(tmp_path)

    code = main(["--config", str(config), "dead-letters", "--retry", "reply:2", "reply:1"])

    assert code == 1
    assert capsys.readouterr() == (
        "requeued 1 message(s)\n",
        "chatops: no dead letter with key reply:2\n",
    )
    assert main(["--config", str(config), "dead-letters", "--retry", "reply:1"]) == 1
    assert capsys.readouterr() == ("", "chatops: no dead letter with key reply:1\n")
