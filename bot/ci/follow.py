"""Following forge runs: what a forge webhook (or the reconciler's look-up) says about one.

``observe(event)`` is the ``bot.forge.CiEventSink`` the forge webhooks feed. For every live
run waiting on the event's forge run it does what ``bot.ci.plan.update_for`` says:

- record the forge run's new state (events for an older attempt than the one wanted are
  stale and ignored);
- issue a re-run the run still has to do, once the older attempt it waited on has
  finished (``bot.ci.launch``); a re-run the forge refuses then completes as ``error``.

A dispatched forge run no run waits on is attached to the live run of its commit that
waits for a dispatch to show up. Then every run touched is settled if its forge runs are
all complete (``bot.ci.notices``). A completed forge run no run tracks (at this attempt or
a later one) is told to the repository's subscribers, once per attempt.

``apply`` is the recording half, without settling, for the reconciler.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.ci.launch import Launcher
from bot.ci.models import RunState
from bot.ci.notices import Notices
from bot.ci.plan import Update, forge_row, update_for
from bot.ci.store import RunStore
from bot.clock import Clock
from bot.forge import CheckState, CiRunEvent, ForgeError, Forges


class Follower:
    def __init__(
        self,
        *,
        forges: Forges,
        store: RunStore,
        clock: Clock,
        log: logging.Logger,
        launcher: Launcher,
        notices: Notices,
    ) -> None:
        self._forges = forges
        self._store = store
        self._clock = clock
        self._log = log
        self._launcher = launcher
        self._notices = notices

    async def observe(self, event: CiRunEvent) -> None:
        """A forge run changed: update, attach, settle and notify (module docstring)."""
        for run_id in sorted(await self.apply(event)):
            await self._notices.settle(run_id)

    async def apply(self, event: CiRunEvent) -> set[int]:
        """Record what ``event`` says; the ids of the runs it touched."""
        forge, repo, seen = event.forge, event.repo, event.run
        client = self._forges.client(forge)
        now = self._clock.now()
        touched: set[int] = set()
        waiting = await self._store.waiting_on(forge, repo, seen.id)
        for run_id, row in waiting:
            update = update_for(row, seen)
            if update is Update.RECORD:
                await self._store.save_forge_run(run_id, forge_row(seen), now)
                touched.add(run_id)
            elif update is Update.RERUN and client is not None:
                touched.add(run_id)
                try:
                    await self._launcher.rerun(client, run_id, repo, row)
                except ForgeError as exc:
                    self._log.warning("the forge refused to re-run %s: %s", row.name, exc.message)
                    failed = replace(row, state=RunState.COMPLETED, conclusion="error")
                    await self._store.save_forge_run(run_id, failed, now)
        if not waiting and client is not None and client.dispatched(seen):
            live = await self._store.active(forge, repo, seen.head_sha)
            if live is not None and live.request_id is not None and not live.forge_runs:
                await self._store.save_forge_runs(live.id, (forge_row(seen),), now, started_at=now)
                touched.add(live.id)
        if seen.state is CheckState.COMPLETED and not await self._store.tracks(
            forge, repo, seen.id, seen.attempt
        ):
            await self._notices.untracked(client, event)
        return touched
