"""The ``ci-reconcile`` job: ask the forge about live runs no webhook has moved for a while.

``reconcile()`` runs on one replica at a time (lease ``ci:reconcile``; it is idempotent
anyway) and looks up every live run unchanged for ``[ci] stuck_after_minutes``:

- each forge run not completed is read from the forge and the answer goes through
  ``bot.ci.follow``'s ``apply``, as if its webhook had arrived; one the forge no longer
  knows (``NotFound``) completes as ``error``;
- a run with no forge run by then (a dispatch that never showed up, or a command that
  died before starting anything) is looked up once more, adopting a dispatched run of the
  commit if one appeared, and otherwise settled as ``error``, telling its origins that CI
  did not run.

Then the run is settled if it can be (``bot.ci.notices``). A run the look-up did not
change is touched, so it waits another ``stuck_after_minutes`` before the next look. An
error on one run is logged and leaves the others to go on.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from bot.ci.follow import Follower
from bot.ci.models import RunState
from bot.ci.notices import Notices
from bot.ci.plan import forge_row, late
from bot.ci.records import TrackedRun
from bot.ci.settings import CiSettings
from bot.ci.store import RunStore
from bot.clock import Clock
from bot.forge import CiRunEvent, ForgeClient, ForgeError, Forges, NotFound
from bot.store.leases import Leases

RECONCILE_LEASE = "ci:reconcile"
RECONCILE_LEASE_TTL = timedelta(minutes=10)


class Reconciler:
    def __init__(
        self,
        *,
        forges: Forges,
        store: RunStore,
        settings: CiSettings,
        clock: Clock,
        log: logging.Logger,
        leases: Leases,
        holder: str,
        follower: Follower,
        notices: Notices,
    ) -> None:
        self._forges = forges
        self._store = store
        self._settings = settings
        self._clock = clock
        self._log = log
        self._leases = leases
        self._holder = holder
        self._follower = follower
        self._notices = notices

    async def reconcile(self) -> int:
        """Ask the forge about runs unchanged for ``stuck_after_minutes``; how many settled."""
        now = self._clock.now()
        if not await self._leases.acquire(RECONCILE_LEASE, self._holder, now, RECONCILE_LEASE_TTL):
            return 0
        try:
            settled = 0
            cutoff = now - timedelta(minutes=self._settings.stuck_after_minutes)
            for run in await self._store.stale(cutoff):
                try:
                    settled += await self._look_up(run)
                except Exception:
                    self._log.exception("could not reconcile run %d; next time", run.id)
            if settled:
                self._log.info("reconciler settled %d stuck run(s)", settled)
            return settled
        finally:
            await self._leases.release(RECONCILE_LEASE, self._holder)

    async def _look_up(self, run: TrackedRun) -> int:
        """Look one stuck run up on the forge; 1 if that settled it."""
        client = self._forges.client(run.forge)
        if client is None:
            return 0
        if not run.forge_runs:
            return await self._never_started(client, run)
        now = self._clock.now()
        touched = False
        for row in run.forge_runs:
            if row.state is RunState.COMPLETED:
                continue
            try:
                current = await client.ci_run(run.repo, row.external_id)
            except NotFound:
                gone = replace(row, state=RunState.COMPLETED, conclusion="error")
                await self._store.save_forge_run(run.id, gone, now)
                touched = True
                continue
            except ForgeError as exc:
                self._log.warning("run %d: cannot read %s: %s", run.id, row.name, exc.message)
                continue
            touched |= bool(await self._follower.apply(CiRunEvent(run.forge, run.repo, current)))
        if not touched:
            await self._store.touch(run.id, now)
        return int(await self._notices.settle(run.id))

    async def _never_started(self, client: ForgeClient, run: TrackedRun) -> int:
        """A run with no forge run yet: adopt a late dispatch, else settle it as ``error``."""
        now = self._clock.now()
        try:
            runs = await client.ci_runs(run.repo, run.head_sha)
        except ForgeError as exc:
            self._log.warning("run %d: cannot list CI: %s", run.id, exc.message)
            await self._store.touch(run.id, now)
            return 0
        dispatches = [found for found in runs if client.dispatched(found)]
        found = late(dispatches, run.requested_at)
        if not found:
            return int(await self._notices.abandon(run, None))
        rows = tuple(forge_row(each) for each in found)
        await self._store.save_forge_runs(run.id, rows, now, started_at=now)
        return int(await self._notices.settle(run.id))
