"""Settling runs, and telling everyone who waits on them.

``settle(run_id)`` completes a run whose forge runs are all complete, with the result
``plan.conclusion`` gives. Settling is one conditional update that a single caller wins
(``RunStore.complete``), across duplicate webhooks and replicas; in the same transaction
it enqueues the result to every origin, the sticky summary to the change's thread, and
the result to each channel subscribed to the repository that is not already an origin.
The failed job names, the checks and the change are read before that transaction, best
effort: a forge error leaves them out of the message, never the message out.

``abandon(run, skip)`` settles a run that never started as ``error`` and tells its
origins only (but the invocation whose own reply already says why). ``untracked(event)``
tells the subscribers of a completed forge run that no run tracks, once per attempt.

Who hears what, and under which outbox key, is ``bot.ci.plan``'s; this module reads what
the messages need and enqueues them. After enqueueing it calls ``wake`` so the sender
does not wait for its next poll.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from bot.channels.store import Subscriptions, Topic
from bot.ci.models import RunState
from bot.ci.plan import abandon_messages, conclusion, result_messages, untracked_messages
from bot.ci.records import StoredOrigin, TrackedRun
from bot.ci.replies import forge_run_result_reply, run_result_reply, summary_reply
from bot.ci.store import RunStore
from bot.clock import Clock
from bot.forge import FAILED_CONCLUSIONS, CiRunEvent, ForgeClient, ForgeError, Forges, Job
from bot.messages import Outgoing
from bot.pipeline.keys import run_summary_key
from bot.store.queues import OutboxQueue

SUMMARY_STICKY = "summary"  # the sticky comment's name, shared with the ``update`` command
SUMMARY_RUNS = 5  # how many of the change's runs the summary lists


class Notices:
    def __init__(
        self,
        *,
        forges: Forges,
        store: RunStore,
        subscriptions: Subscriptions,
        outbox: OutboxQueue,
        clock: Clock,
        log: logging.Logger,
        wake: Callable[[], None],
    ) -> None:
        self._forges = forges
        self._store = store
        self._subscriptions = subscriptions
        self._outbox = outbox
        self._clock = clock
        self._log = log
        self._wake = wake

    async def settle(self, run_id: int) -> bool:
        """Complete the run if all its forge runs are; True if this call completed it."""
        run = await self._store.get(run_id)
        if run is None or run.state is RunState.COMPLETED or not run.forge_runs:
            return False
        if any(row.state is not RunState.COMPLETED for row in run.forge_runs):
            return False
        client = self._forges.client(run.forge)
        now = self._clock.now()
        result = conclusion(run.forge_runs)
        done = replace(run, state=RunState.COMPLETED, conclusion=result, finished_at=now)
        failed = [
            row.external_id for row in done.forge_runs if row.conclusion in FAILED_CONCLUSIONS
        ]
        jobs, unavailable = await self._failed_jobs(client, done.repo, failed)
        reply = run_result_reply(done, jobs, now, jobs_unavailable=unavailable)
        summary = await self._summary(client, done, now)
        subscribers = await self._subscriptions.for_repo(run.forge, run.repo, Topic.RUNS)

        def messages(origins: Sequence[StoredOrigin]) -> list[Outgoing]:
            return result_messages(run.id, reply, origins, subscribers, summary)

        won = await self._store.complete(run.id, result, now, messages)
        if won:
            self._log.info("run %d completed: %s", run.id, result)
            self._wake()
        return won

    async def abandon(self, run: TrackedRun, skip_invocation: str | None) -> bool:
        """Settle a run that never started as ``error``; True if this call settled it."""
        now = self._clock.now()
        done = replace(run, state=RunState.COMPLETED, conclusion="error", finished_at=now)
        reply = run_result_reply(done, (), now)

        def messages(origins: Sequence[StoredOrigin]) -> list[Outgoing]:
            return abandon_messages(run.id, reply, origins, skip_invocation)

        won = await self._store.complete(run.id, "error", now, messages)
        if won:
            self._wake()
        return won

    async def untracked(self, client: ForgeClient | None, event: CiRunEvent) -> None:
        """A completed forge run nobody tracks: each subscribed channel hears of it once."""
        subscribers = await self._subscriptions.for_repo(event.forge, event.repo, Topic.RUNS)
        if not subscribers:
            return
        now = self._clock.now()
        failed = [event.run.id] if event.run.failed else []
        jobs, unavailable = await self._failed_jobs(client, event.repo, failed)
        reply = forge_run_result_reply(event, jobs, now, jobs_unavailable=unavailable)
        queued = False
        for outgoing in untracked_messages(event, reply, subscribers):
            queued |= await self._outbox.enqueue(outgoing, now)
        if queued:
            self._wake()

    async def _failed_jobs(
        self, client: ForgeClient | None, repo: str, run_ids: Sequence[str]
    ) -> tuple[list[Job], bool]:
        """The failed jobs of these forge runs, and whether the list is incomplete."""
        if not run_ids:
            return [], False
        if client is None:
            return [], True
        jobs: list[Job] = []
        for run_id in run_ids:
            try:
                jobs += [job for job in await client.jobs(repo, run_id) if job.failed]
            except ForgeError as exc:
                self._log.warning("job list of %s in %s unavailable: %s", run_id, repo, exc.message)
                return jobs, True
        return jobs, False

    async def _summary(
        self, client: ForgeClient | None, run: TrackedRun, now: datetime
    ) -> Outgoing | None:
        """The sticky summary for the change's thread, or None (no change, or forge error)."""
        if client is None or run.number is None:
            return None
        try:
            change = await client.change(run.repo, run.number)
            checks = await client.checks(run.repo, change.head_sha)
        except ForgeError as exc:
            self._log.warning("summary of run %d skipped: %s", run.id, exc.message)
            return None
        runs = await self._store.runs_for(run.forge, run.repo, run.number, SUMMARY_RUNS)
        runs = [run if other.id == run.id else other for other in runs]
        return Outgoing(
            target=client.thread(run.repo, run.number, sticky=SUMMARY_STICKY),
            reply=summary_reply(change, checks, runs, now),
            key=run_summary_key(run.id),
        )
