"""The forge calls that start CI for a tracked run: dispatch, re-run, cancel.

``Launcher.start`` makes the call(s) a ``StartPlan`` names for a run just created (or
resumed), and records what the forge answered:

- a dispatch records the run the forge names, if it names one (else ``bot.ci.follow``
  attaches the dispatched run when it shows up);
- re-runs are recorded as ``REQUESTED`` rows **before** they are asked for, so a retried
  invocation knows what is left to do; each is then issued (``rerun``). Re-runs the forge
  refuses are forgotten and named in the reply; if it refuses them all, the refusal is
  raised.

When the forge refuses the start, the run is abandoned (settled as ``error``, everyone who
joined it meanwhile is told, ``bot.ci.notices``) and the ``ForgeError`` propagates, so the
command's reply says what the forge answered.

``rerun`` is also what ``bot.ci.follow`` calls when the older attempt a ``REQUESTED``
row waits on has finished. ``cancel`` cancels a commit's forge runs that still run, for
``restart``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from bot.ci.models import RunState
from bot.ci.notices import Notices
from bot.ci.plan import (
    Rescan,
    RescanOutcome,
    StartPlan,
    forge_row,
    how_dispatched,
    how_reran,
    rerun_row,
    waiting_reruns,
)
from bot.ci.records import Origin, TrackedForgeRun, TrackedRun
from bot.ci.store import RunStore
from bot.clock import Clock
from bot.forge import Change, CheckState, CiRun, ForgeClient, ForgeError, NotFound


class Launcher:
    def __init__(
        self, *, store: RunStore, clock: Clock, log: logging.Logger, notices: Notices
    ) -> None:
        self._store = store
        self._clock = clock
        self._log = log
        self._notices = notices

    async def start(
        self,
        client: ForgeClient,
        change: Change,
        run: TrackedRun,
        plan: StartPlan,
        origin: Origin,
        cancelled: tuple[CiRun, ...] = (),
    ) -> Rescan:
        """Make the forge call(s) for a run just created; settle it as ``error`` if refused."""
        repo = change.target.repo
        if plan.workflow is not None:
            try:
                started = await client.dispatch(repo, plan.workflow, change.head_ref, {})
            except ForgeError:
                await self._notices.abandon(run, origin.invocation_id)
                raise
            rows = () if started is None else (forge_row(started),)
            now = self._clock.now()
            await self._store.save_forge_runs(run.id, rows, now, started_at=now)
            how = how_dispatched(plan.workflow, change)
        else:
            wanted = tuple(rerun_row(rerun) for rerun in plan.reruns)
            await self._store.save_forge_runs(run.id, wanted, self._clock.now())
            how = await self.rerun_all(client, run, wanted, origin)
        fresh = await self._store.get(run.id)
        return Rescan(RescanOutcome.STARTED, fresh or run, cancelled, how)

    async def rerun_all(
        self,
        client: ForgeClient,
        run: TrackedRun,
        rows: Sequence[TrackedForgeRun],
        origin: Origin,
    ) -> str:
        """Re-run each forge run; forget the ones the forge refuses, raise if it refuses all.
        What was done, for the reply."""
        refused: list[tuple[TrackedForgeRun, ForgeError]] = []
        for row in rows:
            try:
                await self.rerun(client, run.id, run.repo, row)
            except ForgeError as exc:
                refused.append((row, exc))
        if rows and len(refused) == len(rows):
            await self._notices.abandon(run, origin.invocation_id)
            raise refused[0][1]
        now = self._clock.now()
        for row, error in refused:
            self._log.warning("could not re-run %s of run %d: %s", row.name, run.id, error.message)
            await self._store.drop_forge_run(run.id, row.external_id, now)
        await self._store.save_forge_runs(run.id, (), now, started_at=now)
        fresh = await self._store.get(run.id)
        how = how_reran(len(rows) - len(refused), 0 if fresh is None else waiting_reruns(fresh))
        if refused:
            names = ", ".join(row.name for row, _ in refused)
            how += f"; could not re-run {names}: {refused[0][1].message}"
        return how

    async def rerun(
        self, client: ForgeClient, run_id: int, repo: str, row: TrackedForgeRun
    ) -> None:
        """Re-run one forge run the run waits on at ``row.attempt``.

        A forge that starts another run instead (GitLab creates a new pipeline) returns it,
        and the row is replaced by one for the new run. If the forge refuses, it is asked
        where the run is: already at the wanted attempt (someone else re-ran it), fine; not
        finished yet (a cancel takes a moment), the row stays ``REQUESTED`` for
        ``bot.ci.follow`` or the reconciler; else the refusal is raised.
        """
        try:
            started = await client.rerun(repo, row.external_id)
        except ForgeError as refused:
            try:
                current = await client.ci_run(repo, row.external_id)
            except ForgeError:
                raise refused from None
            if current.attempt >= row.attempt:
                await self._store.save_forge_run(run_id, forge_row(current), self._clock.now())
                return
            if current.state is not CheckState.COMPLETED:
                return
            raise
        now = self._clock.now()
        if started is not None and started.id != row.external_id:
            # the forge started another run instead of a new attempt: follow that one
            await self._store.save_forge_run(run_id, forge_row(started), now)
            await self._store.drop_forge_run(run_id, row.external_id, now)
            return
        await self._store.save_forge_run(run_id, replace(row, state=RunState.QUEUED), now)

    async def cancel(
        self, client: ForgeClient, repo: str, runs: Sequence[CiRun]
    ) -> tuple[CiRun, ...]:
        """Cancel the runs still going; those it cancelled (not those that finished or went
        away meanwhile). Any other refusal is raised."""
        cancelled: list[CiRun] = []
        for run in runs:
            if run.state is CheckState.COMPLETED:
                continue
            try:
                stopped = await client.cancel(repo, run.id)
            except NotFound:
                continue  # gone already
            if stopped:
                cancelled.append(run)
        return tuple(cancelled)
