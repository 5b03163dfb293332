"""Real processes: a worker killed mid-command, and two workers sharing one queue."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from bot.config import Config
from bot.context import Services
from bot.messages import Actor, Invocation, Platform, Reply, ReplyTarget, Status
from bot.pipeline.assembly import Pipeline, build_pipeline
from bot.store.database import Database
from bot.store.models import AuditEntry, InboxItem, InboxStatus, OutboxItem
from tests.fakes.clock import FakeClock
from tests.fakes.connector import RecordingConnector
from tests.fakes.work import work_command

ROOT = Path(__file__).resolve().parents[2]
PROCESS_TIMEOUT = 120.0


def work_invocation(clock: FakeClock, key: str) -> Invocation:
    return Invocation(
        id=uuid.uuid4().hex,
        platform=Platform.SHELL,
        actor=Actor(platform=Platform.SHELL, id="local", name="local"),
        text="work",
        reply_to=ReplyTarget(platform=Platform.SHELL, channel="s"),
        delivery_key=key,
        received_at=clock.now(),
    )


def local_pipeline(database: Database, clock: FakeClock, connector: RecordingConnector) -> Pipeline:
    return build_pipeline(
        Config(),
        database,
        commands=[work_command()],
        connectors={Platform.SHELL: connector},
        services=Services(clock=clock, started_at=clock.now(), version="test"),
        log=logging.getLogger("chatops.test"),
    )


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.worker_process", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


async def test_worker_killed_between_claim_and_reply_is_finished_by_a_new_one(
    database: Database,
) -> None:
    clock, connector = FakeClock(), RecordingConnector()
    pipeline = local_pipeline(database, clock, connector)
    await pipeline.submit(work_invocation(clock, "delivery-kill"))

    with spawn("hang", database.url) as victim:
        try:
            line = await asyncio.wait_for(
                asyncio.to_thread(victim.stdout.readline),  # type: ignore[union-attr]
                timeout=PROCESS_TIMEOUT,
            )
            assert line == "started delivery-kill\n"
        finally:
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=PROCESS_TIMEOUT)
    assert victim.returncode == -signal.SIGKILL
    row = await InboxItem.get(delivery_key="delivery-kill")
    assert (row.status, row.attempts) == (InboxStatus.CLAIMED, 1)

    # The killed worker took its lease on the wall clock, where this test's clock started;
    # move this clock to either side of the end of that lease.
    assert row.lease_until is not None
    assert await pipeline.inbox_worker.run_once() == 0  # the dead worker's lease still holds
    clock.advance((row.lease_until - clock.now()).total_seconds() - 1)
    assert await pipeline.inbox_worker.run_once() == 0  # a second before it ends, it still does
    clock.advance(2)
    for _ in range(3):
        await pipeline.inbox_worker.run_once()
        await pipeline.sender.run_once()

    assert [m.reply for m in connector.sent] == [
        Reply(title="worked on delivery-kill", status=Status.OK)
    ]
    row = await InboxItem.get(delivery_key="delivery-kill")
    assert (row.status, row.attempts) == (InboxStatus.DONE, 2)
    assert await OutboxItem.all().count() == 1


async def test_two_worker_processes_drain_500_rows_on_postgres_exactly_once(
    postgres_url: str, tmp_path: Path
) -> None:
    from bot.store.database import open_database

    database = await open_database(postgres_url, require_migrated=False)
    await database.migrate()
    try:
        clock = FakeClock()
        pipeline = local_pipeline(database, clock, RecordingConnector())
        keys = [f"delivery-{i:03d}" for i in range(500)]
        for key in keys:
            assert await pipeline.submit(work_invocation(clock, key))

        records = [tmp_path / "worker-a.txt", tmp_path / "worker-b.txt"]
        workers = [spawn("drain", postgres_url, str(path)) for path in records]
        for worker in workers:
            with worker:
                _, stderr = await asyncio.to_thread(worker.communicate, timeout=PROCESS_TIMEOUT)
            assert worker.returncode == 0, stderr

        runs = [path.read_text().splitlines() if path.exists() else [] for path in records]
        every_run = runs[0] + runs[1]
        assert sorted(every_run) == keys  # none missed, none run twice
        assert await InboxItem.filter(status=InboxStatus.DONE).count() == 500
        assert await OutboxItem.all().count() == 500
        assert await AuditEntry.filter(decision="ok").count() == 500
        logging.getLogger("chatops.test").info(
            "rows run per worker: %s", [len(run) for run in runs]
        )
    finally:
        await database.close()
