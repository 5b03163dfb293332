"""A real worker process for crash and concurrency tests.

python -m tests.worker_process hang URL
    runs the inbox worker; the ``work`` command prints ``started KEY`` and
    then blocks forever, so the test can SIGKILL it between claim and reply.
python -m tests.worker_process drain URL RECORD_FILE
    runs the production worker loops until the inbox is empty; the ``work``
    command appends its delivery key to RECORD_FILE, one line per run.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from bot.clock import SystemClock
from bot.config import Config, WorkerSettings
from bot.context import Services
from bot.messages import Platform
from bot.pipeline.assembly import build_pipeline, run_workers
from bot.store.database import open_database
from tests.fakes.connector import RecordingConnector
from tests.fakes.work import work_command


async def main(mode: str, url: str, record: Path | None) -> None:
    database = await open_database(url)
    clock = SystemClock()
    config = Config(workers=WorkerSettings(poll_interval=0.01, concurrency=4))
    pipeline = build_pipeline(
        config,
        database,
        commands=[work_command(hang=mode == "hang", record=record)],
        connectors={Platform.SHELL: RecordingConnector()},
        services=Services(clock=clock, started_at=clock.now(), version="test"),
        log=logging.getLogger("chatops.worker_process"),
    )
    stop = asyncio.Event()
    workers = asyncio.create_task(run_workers(pipeline, stop, poll_interval=0.01))
    while True:
        await asyncio.sleep(0.05)
        depth = await pipeline.inbox.depth()
        if not depth.get("pending") and not depth.get("claimed"):
            break
    stop.set()
    await workers
    await database.close()


if __name__ == "__main__":
    record_file = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    asyncio.run(main(sys.argv[1], sys.argv[2], record_file))
