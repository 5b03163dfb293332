"""``rescan`` and ``restart``: start CI on a change's head commit, or join what runs.

``rescan(client, change, origin)``, in order:

1. The same invocation again (a retried command): answer as the first attempt did, with
   no new side effect. A run this invocation created whose start was never confirmed is
   resumed: the forge is read first (re-runs already recorded are driven to completion,
   a dispatched run that shows up is adopted), and only what did not happen is done.
2. A live tracked run for the head commit: join it (add the origin). Requested within
   ``[ci] rescan_window_seconds``: ``COALESCED``; older: ``ALREADY_RUNNING``.
3. Forge runs of the head commit queued or in progress that nobody tracks: track them (a
   run "requested by" the forge run's actor), join, ``ALREADY_RUNNING``.
4. Else start (``bot.ci.plan.plan_start``, then ``bot.ci.launch``): dispatch the workflow
   configured for the repository (not for a fork), else re-run the latest completed run of
   each workflow; nothing to dispatch or re-run is ``NOTHING_TO_RUN`` (no run kept). The
   run row is created before any forge call; its ``active_key`` is unique while live, so
   a concurrent request (another replica) that loses the insert joins the winner's run.

``restart`` supersedes the live tracked run, if any: it is completed as ``cancelled``
without messages and **its origins move to the new run**, so everyone waiting hears the
restarted run's result once (a restart that loses a race with another restart joins
it). Then it cancels every queued or in-progress forge run of the head commit and starts
as in step 4, re-running the cancelled runs too. A re-run the forge refuses because the
cancelled run has not finished yet stays ``REQUESTED`` with the attempt wanted; it is
issued when ``bot.ci.follow`` sees the older attempt complete, or by the reconciler.

When the tracked runs change under it ``LOOKS`` times in a row (concurrent requests), the
command is told to try again rather than looping.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.ci.launch import Launcher
from bot.ci.models import RunState
from bot.ci.notices import Notices
from bot.ci.plan import (
    Rescan,
    RescanOutcome,
    busy,
    foreign,
    forge_row,
    how_dispatched,
    how_started,
    joined,
    ours,
    plan_start,
    resumable,
)
from bot.ci.records import ActiveRunExists, Origin, TrackedRun
from bot.ci.settings import CiSettings
from bot.ci.store import RunStore
from bot.clock import Clock
from bot.errors import CommandError
from bot.forge import Change, CheckState, CiRun, ForgeClient, ForgeError

LOOKS = 3  # how often a command looks again when a concurrent request changed things under it


class Starter:
    def __init__(
        self,
        *,
        store: RunStore,
        settings: CiSettings,
        clock: Clock,
        launcher: Launcher,
        notices: Notices,
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._launcher = launcher
        self._notices = notices

    @property
    def _window(self) -> timedelta:
        return timedelta(seconds=self._settings.rescan_window_seconds)

    async def rescan(self, client: ForgeClient, change: Change, origin: Origin) -> Rescan:
        """Start CI on the change's head commit, or join what is running (module docstring)."""
        again = await self._again(client, change, origin, restart=False)
        if again is not None:
            return again
        forge, repo, sha = client.forge, change.target.repo, change.head_sha
        workflow = self._settings.workflow_for(forge, repo)
        for _ in range(LOOKS):
            now = self._clock.now()
            active = await self._store.active(forge, repo, sha)
            if active is not None:
                joining = await self._join(active, origin, now)
                if joining is not None:
                    return joining
                continue  # it completed meanwhile: look again
            runs = await client.ci_runs(repo, sha)
            running = [run for run in runs if run.state is not CheckState.COMPLETED]
            try:
                if running:
                    tracked = await self._store.create(
                        foreign(forge, change, running, now), origin, now
                    )
                    return Rescan(RescanOutcome.ALREADY_RUNNING, tracked)
                plan = plan_start(workflow, change, runs, include_running=False)
                if plan is None:
                    return Rescan(RescanOutcome.NOTHING_TO_RUN, None)
                run = await self._store.create(ours(forge, change, origin, now), origin, now)
            except ActiveRunExists:
                continue  # another request just made one: join it
            return await self._launcher.start(client, change, run, plan, origin)
        raise CommandError(busy(change))

    async def restart(self, client: ForgeClient, change: Change, origin: Origin) -> Rescan:
        """Cancel what runs on the head commit and start again (module docstring)."""
        again = await self._again(client, change, origin, restart=True)
        if again is not None:
            return again
        forge, repo, sha = client.forge, change.target.repo, change.head_sha
        workflow = self._settings.workflow_for(forge, repo)
        for _ in range(LOOKS):
            now = self._clock.now()
            before = await self._store.active(forge, repo, sha)
            runs = await client.ci_runs(repo, sha)
            plan = plan_start(workflow, change, runs, include_running=True)
            if plan is None:
                return Rescan(RescanOutcome.NOTHING_TO_RUN, None)
            expected = None if before is None else before.id
            try:
                run = await self._store.replace(
                    ours(forge, change, origin, now), origin, now, expected
                )
            except ActiveRunExists:
                active = await self._store.active(forge, repo, sha)
                joining = None if active is None else await self._join(active, origin, now)
                if joining is not None:
                    return joining
                continue
            cancelled = await self._cancel(client, change, run, runs, origin)
            return await self._launcher.start(client, change, run, plan, origin, cancelled)
        raise CommandError(busy(change))

    async def _join(self, active: TrackedRun, origin: Origin, now: datetime) -> Rescan | None:
        """Add ``origin`` to a live run; None if it completed meanwhile."""
        if not await self._store.add_origin(active.id, origin, now):
            return None
        outcome = joined(active.requested_at, now, self._window)
        return Rescan(outcome, await self._store.get(active.id) or active)

    async def _cancel(
        self,
        client: ForgeClient,
        change: Change,
        run: TrackedRun,
        runs: list[CiRun],
        origin: Origin,
    ) -> tuple[CiRun, ...]:
        """Cancel what runs for ``restart``; a refusal abandons the run just made."""
        try:
            return await self._launcher.cancel(client, change.target.repo, runs)
        except ForgeError:
            await self._notices.abandon(run, origin.invocation_id)
            raise

    async def _again(
        self, client: ForgeClient, change: Change, origin: Origin, *, restart: bool
    ) -> Rescan | None:
        """The answer to an invocation seen before; None when it is new or must start afresh."""
        earlier = await self._store.by_invocation(origin.invocation_id)
        if earlier is None:
            return None
        run, asked = earlier
        if run.request_id is None:
            return Rescan(RescanOutcome.ALREADY_RUNNING, run)
        if run.request_id != origin.invocation_id:
            return Rescan(joined(run.requested_at, asked.added_at, self._window), run)
        if run.started_at is not None:
            workflow = self._settings.workflow_for(run.forge, run.repo)
            return Rescan(RescanOutcome.STARTED, run, how=how_started(workflow, change, run))
        if run.state is RunState.COMPLETED:
            return None  # the forge refused it last time: try again
        return await self._resume(client, change, run, origin, restart=restart)

    async def _resume(
        self,
        client: ForgeClient,
        change: Change,
        run: TrackedRun,
        origin: Origin,
        *,
        restart: bool,
    ) -> Rescan:
        """Finish the start of a run whose invocation died before it was confirmed."""
        if run.forge_runs:  # the re-runs were recorded: do the ones not done
            pending = [row for row in run.forge_runs if row.state is RunState.REQUESTED]
            how = await self._launcher.rerun_all(client, run, pending, origin)
            fresh = await self._store.get(run.id)
            return Rescan(RescanOutcome.STARTED, fresh or run, how=how)
        runs = await client.ci_runs(change.target.repo, change.head_sha)
        workflow = self._settings.workflow_for(client.forge, change.target.repo)
        plan = plan_start(workflow, change, runs, include_running=restart)
        if plan is not None and plan.workflow is not None:
            dispatches = [found for found in runs if client.dispatched(found)]
            adopted = resumable(dispatches, run.requested_at)
            if adopted:
                now = self._clock.now()
                rows = tuple(forge_row(found) for found in adopted)
                await self._store.save_forge_runs(run.id, rows, now, started_at=now)
                fresh = await self._store.get(run.id)
                how = how_dispatched(plan.workflow, change)
                return Rescan(RescanOutcome.STARTED, fresh or run, how=how)
        if plan is None:
            await self._notices.abandon(run, origin.invocation_id)
            return Rescan(RescanOutcome.NOTHING_TO_RUN, None)
        cancelled = await self._cancel(client, change, run, runs, origin) if restart else ()
        return await self._launcher.start(client, change, run, plan, origin, cancelled)
