"""The run tracker: start CI on a change, follow it, and tell everyone who asked.

``RunTracker`` is what the CI commands call (``rescan``, ``restart``, ``runs_for``), what
forge webhooks feed (``observe``, as the ``bot.forge.CiEventSink``) and what the
``ci-reconcile`` job runs (``reconcile``). Records live in ``bot.ci.store``.

``rescan(client, change, origin)``, in order:

1. The same invocation again (a retried command): answer as the first attempt did, with
   no new side effect. A run this invocation created whose start was never confirmed is
   resumed: the forge is read first (re-runs already recorded are driven to completion,
   a dispatched run that shows up is adopted), and only what did not happen is done.
2. A live tracked run for the head commit: join it (add the origin). Requested within
   ``[ci] rescan_window_seconds``: ``COALESCED``; older: ``ALREADY_RUNNING``.
3. Forge runs of the head commit queued or in progress that nobody tracks: track them (a
   run "requested by" the forge run's actor), join, ``ALREADY_RUNNING``.
4. Else start: dispatch the workflow configured for the repository (not for a fork), else
   re-run the latest completed run of each workflow; nothing to dispatch or re-run is
   ``NOTHING_TO_RUN`` (no run kept). The run row is created before any forge call; its
   ``active_key`` is unique while live, so a concurrent request (another replica) that
   loses the insert joins the winner's run. If the forge refuses, the run is settled as
   ``error`` (whoever joined it meanwhile is told) and the ``ForgeError`` propagates, so
   the command's reply says what the forge answered.

``restart`` supersedes the live tracked run, if any: it is completed as ``cancelled``
without messages and **its origins move to the new run**, so everyone waiting hears the
restarted run's result once (a restart that loses a race with another restart joins
it). Then it cancels every queued or in-progress forge run of the head commit and starts
as in step 4, re-running the cancelled runs too. A re-run the forge refuses because the
cancelled run has not finished yet stays ``REQUESTED`` with the attempt wanted; it is
issued when ``observe`` sees the older attempt complete, or by the reconciler.

``observe(event)`` updates every live run waiting on the event's forge run (events for
an older attempt than the one wanted are stale), attaches a dispatched run to the live
run that waits for one, and settles runs whose forge runs are all complete: failure if
any failed, else cancelled if any was cancelled, else success (skipped counts as passed).
Settling is one conditional update that a single caller wins; in the same transaction it
enqueues the result to every origin, the sticky summary to the change's thread, and the
result to each channel subscribed to the repository that is not already an origin.
Failed job names, the checks and the change are read before that transaction, best
effort. A completed forge run no run tracks is told to the subscribers once per attempt.

``reconcile()`` (one replica at a time, lease ``ci:reconcile``; idempotent anyway) asks
the forge about live runs unchanged for ``[ci] stuck_after_minutes`` and feeds the answers
through ``observe``'s code. A forge run the forge no longer knows (404) completes as
``error``. A run with no forge run by then (a dispatch that never showed up, or a command
that died before starting anything) is looked up once more and otherwise settled as
``error``, telling its origins that CI did not run.

A ``chatops shell`` session ends with its command, so a shell origin is recorded (it
joins and coalesces like any other) but is sent no result later (``follows_up``).

Invariants: repositories are matched case-insensitively; every message is enqueued under
a key derived from the run (or the forge run and attempt), so nothing is told twice.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.channels.store import Subscriptions, Topic
from bot.ci.replies import forge_run_result_reply, run_result_reply, summary_reply
from bot.ci.settings import CiSettings
from bot.ci.store import (
    ActiveRunExists,
    NewRun,
    Origin,
    RunStore,
    StoredOrigin,
    TrackedForgeRun,
    TrackedRun,
)
from bot.clock import Clock
from bot.errors import CommandError
from bot.forge import (
    CANCELLED_CONCLUSIONS,
    FAILED_CONCLUSIONS,
    Change,
    CheckState,
    CiRun,
    CiRunEvent,
    ForgeClient,
    ForgeError,
    Forges,
    Job,
    NotFound,
)
from bot.messages import Forge, Outgoing, Platform, ReplyTarget
from bot.store.leases import Leases
from bot.store.models import RunState
from bot.store.queues import OutboxQueue

__all__ = [
    "Origin",
    "Rescan",
    "RescanOutcome",
    "RunState",
    "RunTracker",
    "TrackedForgeRun",
    "TrackedRun",
]

RECONCILE_LEASE = "ci:reconcile"
RECONCILE_LEASE_TTL = timedelta(minutes=10)
SUMMARY_STICKY = "summary"
SUMMARY_RUNS = 5
DISPATCH_EVENT = "workflow_dispatch"
CONFLICT = 409
LOOKS = 3  # how often rescan looks again when a concurrent request changed things under it
KEY_MAX = 255
STATES = {
    CheckState.QUEUED: RunState.QUEUED,
    CheckState.IN_PROGRESS: RunState.IN_PROGRESS,
    CheckState.COMPLETED: RunState.COMPLETED,
}


class RescanOutcome(enum.StrEnum):
    STARTED = "started"  # we started CI (dispatch or re-run); run is set
    COALESCED = "coalesced"  # a rescan of this head commit was asked for within the window
    ALREADY_RUNNING = "running"  # CI for this head commit is running (ours or not); run is set
    NOTHING_TO_RUN = "nothing"  # no workflow configured and no runs for the commit to re-run


@dataclass(frozen=True, slots=True)
class Rescan:
    outcome: RescanOutcome
    run: TrackedRun | None
    cancelled: tuple[CiRun, ...] = ()  # restart: what was cancelled
    how: str = ""  # "dispatched ci.yml on feature-x", "re-ran 2 workflow runs", for the reply


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to start CI: dispatch ``workflow``, or re-run ``reruns``."""

    workflow: str | None = None
    reruns: tuple[CiRun, ...] = ()


def _nothing() -> None:
    return None


class RunTracker:
    def __init__(
        self,
        *,
        forges: Forges,
        settings: CiSettings,
        clock: Clock,
        outbox: OutboxQueue,
        log: logging.Logger,
        wake: Callable[[], None] = _nothing,
        holder: str | None = None,
        store: RunStore | None = None,
        subscriptions: Subscriptions | None = None,
        leases: Leases | None = None,
    ) -> None:
        self._forges = forges
        self._settings = settings
        self._clock = clock
        self._outbox = outbox
        self._log = log
        self._wake = wake
        self._holder = holder or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self._store = store or RunStore()
        self._subscriptions = subscriptions or Subscriptions()
        self._leases = leases or Leases()

    @property
    def _window(self) -> timedelta:
        return timedelta(seconds=self._settings.rescan_window_seconds)

    # ------------------------------------------------------------------ commands

    async def rescan(self, client: ForgeClient, change: Change, origin: Origin) -> Rescan:
        """Start CI on the change's head commit, or join what is running (module docstring)."""
        earlier = await self._store.by_invocation(origin.invocation_id)
        if earlier is not None:
            again = await self._again(client, change, origin, *earlier, restart=False)
            if again is not None:
                return again
        forge, repo, sha = client.forge, change.target.repo, change.head_sha
        for _ in range(LOOKS):
            now = self._clock.now()
            active = await self._store.active(forge, repo, sha)
            if active is not None:
                joined = await self._join(active, origin, now)
                if joined is not None:
                    return joined
                continue  # it completed meanwhile: look again
            runs = await client.ci_runs(repo, sha)
            running = [run for run in runs if run.state is not CheckState.COMPLETED]
            try:
                if running:
                    tracked = await self._store.create(
                        _foreign(forge, change, running, now), origin, now
                    )
                    return Rescan(RescanOutcome.ALREADY_RUNNING, tracked)
                plan = self._plan(forge, change, runs)
                if plan is None:
                    return Rescan(RescanOutcome.NOTHING_TO_RUN, None)
                run = await self._store.create(_ours(forge, change, origin, now), origin, now)
            except ActiveRunExists:
                continue  # another request just made one: join it
            return await self._start(client, change, run, plan, origin)
        raise CommandError(_busy(change))

    async def restart(self, client: ForgeClient, change: Change, origin: Origin) -> Rescan:
        """Cancel what runs on the head commit and start again (module docstring)."""
        earlier = await self._store.by_invocation(origin.invocation_id)
        if earlier is not None:
            again = await self._again(client, change, origin, *earlier, restart=True)
            if again is not None:
                return again
        forge, repo, sha = client.forge, change.target.repo, change.head_sha
        for _ in range(LOOKS):
            now = self._clock.now()
            before = await self._store.active(forge, repo, sha)
            runs = await client.ci_runs(repo, sha)
            plan = self._plan(forge, change, runs, include_running=True)
            if plan is None:
                return Rescan(RescanOutcome.NOTHING_TO_RUN, None)
            expected = None if before is None else before.id
            try:
                run = await self._store.replace(
                    _ours(forge, change, origin, now), origin, now, expected
                )
            except ActiveRunExists:
                active = await self._store.active(forge, repo, sha)
                joined = None if active is None else await self._join(active, origin, now)
                if joined is not None:
                    return joined
                continue
            try:
                cancelled = await self._cancel(client, repo, runs)
            except ForgeError:
                await self._abandon(run, origin.invocation_id)
                raise
            return await self._start(client, change, run, plan, origin, cancelled)
        raise CommandError(_busy(change))

    async def runs_for(
        self, forge: Forge, repo: str, number: int, limit: int = 5
    ) -> list[TrackedRun]:
        """The change's tracked runs, newest first."""
        return await self._store.runs_for(forge, repo, number, limit)

    # ------------------------------------------------------------------ webhooks

    async def observe(self, event: CiRunEvent) -> None:
        """A forge run changed: update, attach, settle and notify (module docstring)."""
        for run_id in sorted(await self._apply(event)):
            await self._settle(run_id)

    # ------------------------------------------------------------------ the stuck-run job

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
                    settled += await self._reconcile(run)
                except Exception:
                    self._log.exception("could not reconcile run %d; next time", run.id)
            if settled:
                self._log.info("reconciler settled %d stuck run(s)", settled)
            return settled
        finally:
            await self._leases.release(RECONCILE_LEASE, self._holder)

    # ------------------------------------------------------------------ starting

    def _plan(
        self,
        forge: Forge,
        change: Change,
        runs: Sequence[CiRun],
        *,
        include_running: bool = False,
    ) -> _Plan | None:
        workflow = self._settings.workflow_for(forge, change.target.repo)
        if workflow is not None and not change.fork:
            return _Plan(workflow=workflow)
        reruns = tuple(run for run in runs if include_running or run.state is CheckState.COMPLETED)
        return _Plan(reruns=reruns) if reruns else None

    async def _start(
        self,
        client: ForgeClient,
        change: Change,
        run: TrackedRun,
        plan: _Plan,
        origin: Origin,
        cancelled: tuple[CiRun, ...] = (),
    ) -> Rescan:
        """Make the forge call(s) for a run just created; settle it as ``error`` if refused."""
        repo = change.target.repo
        if plan.workflow is not None:
            try:
                started = await client.dispatch(repo, plan.workflow, change.head_ref, {})
            except ForgeError:
                await self._abandon(run, origin.invocation_id)
                raise
            rows: tuple[TrackedForgeRun, ...] = (
                () if started is None else (_row(started, started.attempt),)
            )
            now = self._clock.now()
            await self._store.save_forge_runs(run.id, rows, now, started_at=now)
            how = f"dispatched {plan.workflow} on {change.head_ref}"
        else:
            rows = tuple(
                replace(_row(rerun, rerun.attempt + 1), state=RunState.REQUESTED, conclusion=None)
                for rerun in plan.reruns
            )
            # recorded before the re-runs are asked for, so a retry knows what to finish
            await self._store.save_forge_runs(run.id, rows, self._clock.now())
            how = await self._rerun_all(client, run, rows, origin)
        fresh = await self._store.get(run.id)
        return Rescan(RescanOutcome.STARTED, fresh or run, cancelled, how)

    async def _rerun_all(
        self,
        client: ForgeClient,
        run: TrackedRun,
        rows: Sequence[TrackedForgeRun],
        origin: Origin,
    ) -> str:
        """Re-run each forge run; forget the ones the forge refuses, raise if it refuses all."""
        refused: list[tuple[TrackedForgeRun, ForgeError]] = []
        for row in rows:
            try:
                await self._rerun(client, run.id, run.repo, row)
            except ForgeError as exc:
                refused.append((row, exc))
        if rows and len(refused) == len(rows):
            await self._abandon(run, origin.invocation_id)
            raise refused[0][1]
        now = self._clock.now()
        for row, error in refused:
            self._log.warning("could not re-run %s of run %d: %s", row.name, run.id, error.message)
            await self._store.drop_forge_run(run.id, row.external_id, now)
        await self._store.save_forge_runs(run.id, (), now, started_at=now)
        fresh = await self._store.get(run.id)
        waiting = sum(
            1 for row in (fresh.forge_runs if fresh else ()) if row.state is RunState.REQUESTED
        )
        how = _reran(len(rows) - len(refused), waiting)
        if refused:
            names = ", ".join(row.name for row, _ in refused)
            how += f"; could not re-run {names}: {refused[0][1].message}"
        return how

    async def _rerun(
        self, client: ForgeClient, run_id: int, repo: str, row: TrackedForgeRun
    ) -> None:
        """Re-run one forge run the run waits on at ``row.attempt``.

        A forge that starts another run instead (GitLab creates a new pipeline) returns it,
        and the row is replaced by one for the new run. If the forge refuses, it is asked
        where the run is: already at the wanted attempt (someone else re-ran it), fine; not
        finished yet (a cancel takes a moment), the row stays ``REQUESTED`` for ``observe``
        or the reconciler; else the refusal is raised.
        """
        try:
            started = await client.rerun(repo, row.external_id)
        except ForgeError as refused:
            try:
                current = await client.ci_run(repo, row.external_id)
            except ForgeError:
                raise refused from None
            if current.attempt >= row.attempt:
                await self._store.save_forge_run(
                    run_id, _row(current, current.attempt), self._clock.now()
                )
                return
            if current.state is not CheckState.COMPLETED:
                return
            raise
        now = self._clock.now()
        if started is not None and started.id != row.external_id:
            # the forge started another run instead of a new attempt: follow that one
            await self._store.save_forge_run(run_id, _row(started, started.attempt), now)
            await self._store.drop_forge_run(run_id, row.external_id, now)
            return
        await self._store.save_forge_run(run_id, replace(row, state=RunState.QUEUED), now)

    async def _cancel(
        self, client: ForgeClient, repo: str, runs: Sequence[CiRun]
    ) -> tuple[CiRun, ...]:
        cancelled: list[CiRun] = []
        for run in runs:
            if run.state is CheckState.COMPLETED:
                continue
            try:
                await client.cancel(repo, run.id)
            except NotFound:
                continue  # gone already
            except ForgeError as exc:
                if exc.status == CONFLICT:
                    continue  # it finished meanwhile
                raise
            cancelled.append(run)
        return tuple(cancelled)

    async def _join(self, active: TrackedRun, origin: Origin, now: datetime) -> Rescan | None:
        """Add ``origin`` to a live run; None if it completed meanwhile."""
        if not await self._store.add_origin(active.id, origin, now):
            return None
        recent = now - active.requested_at < self._window
        outcome = RescanOutcome.COALESCED if recent else RescanOutcome.ALREADY_RUNNING
        return Rescan(outcome, await self._store.get(active.id) or active)

    async def _again(
        self,
        client: ForgeClient,
        change: Change,
        origin: Origin,
        run: TrackedRun,
        asked: StoredOrigin,
        *,
        restart: bool,
    ) -> Rescan | None:
        """The answer to an invocation seen before; None when it must start afresh."""
        if run.request_id is None:
            return Rescan(RescanOutcome.ALREADY_RUNNING, run)
        if run.request_id != origin.invocation_id:
            recent = asked.added_at - run.requested_at < self._window
            outcome = RescanOutcome.COALESCED if recent else RescanOutcome.ALREADY_RUNNING
            return Rescan(outcome, run)
        if run.started_at is not None:
            return Rescan(RescanOutcome.STARTED, run, how=self._how(change, run))
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
            how = await self._rerun_all(client, run, pending, origin)
            fresh = await self._store.get(run.id)
            return Rescan(RescanOutcome.STARTED, fresh or run, how=how)
        runs = await client.ci_runs(change.target.repo, change.head_sha)
        plan = self._plan(client.forge, change, runs, include_running=restart)
        if plan is not None and plan.workflow is not None:
            ours = [
                found
                for found in runs
                if found.event == DISPATCH_EVENT
                and found.state is not CheckState.COMPLETED
                and found.started_at is not None
                and found.started_at >= run.requested_at
            ]
            if ours:
                now = self._clock.now()
                rows = tuple(_row(found, found.attempt) for found in ours)
                await self._store.save_forge_runs(run.id, rows, now, started_at=now)
                fresh = await self._store.get(run.id)
                how = f"dispatched {plan.workflow} on {change.head_ref}"
                return Rescan(RescanOutcome.STARTED, fresh or run, how=how)
        if plan is None:
            await self._abandon(run, origin.invocation_id)
            return Rescan(RescanOutcome.NOTHING_TO_RUN, None)
        cancelled: tuple[CiRun, ...] = ()
        if restart:
            try:
                cancelled = await self._cancel(client, change.target.repo, runs)
            except ForgeError:
                await self._abandon(run, origin.invocation_id)
                raise
        return await self._start(client, change, run, plan, origin, cancelled)

    def _how(self, change: Change, run: TrackedRun) -> str:
        workflow = self._settings.workflow_for(run.forge, run.repo)
        if workflow is not None and not change.fork:
            return f"dispatched {workflow} on {change.head_ref}"
        waiting = sum(1 for row in run.forge_runs if row.state is RunState.REQUESTED)
        return _reran(len(run.forge_runs), waiting)

    # ------------------------------------------------------------------ following

    async def _apply(self, event: CiRunEvent) -> set[int]:
        """Record what ``event`` says; the ids of the runs it touched."""
        forge, repo, seen = event.forge, event.repo, event.run
        client = self._forges.client(forge)
        now = self._clock.now()
        touched: set[int] = set()
        waiting = await self._store.waiting_on(forge, repo, seen.id)
        for run_id, row in waiting:
            if row.state is RunState.REQUESTED and seen.attempt < row.attempt:
                # a re-run still to do: the older attempt has finished now, so do it
                if seen.state is CheckState.COMPLETED and client is not None:
                    touched.add(run_id)
                    try:
                        await self._rerun(client, run_id, repo, row)
                    except ForgeError as exc:
                        self._log.warning(
                            "the forge refused to re-run %s: %s", row.name, exc.message
                        )
                        failed = replace(row, state=RunState.COMPLETED, conclusion="error")
                        await self._store.save_forge_run(run_id, failed, now)
                continue
            if seen.attempt < row.attempt:
                continue  # an older attempt than the one the run waits for
            await self._store.save_forge_run(run_id, _row(seen, seen.attempt), now)
            touched.add(run_id)
        if not waiting and seen.event == DISPATCH_EVENT:
            live = await self._store.active(forge, repo, seen.head_sha)
            if live is not None and live.request_id is not None and not live.forge_runs:
                await self._store.save_forge_runs(
                    live.id, (_row(seen, seen.attempt),), now, started_at=now
                )
                touched.add(live.id)
        if seen.state is CheckState.COMPLETED and not await self._store.tracks(
            forge, repo, seen.id, seen.attempt
        ):
            await self._tell_subscribers(client, event)
        return touched

    async def _settle(self, run_id: int) -> bool:
        """Complete the run if all its forge runs are; True if this call completed it."""
        run = await self._store.get(run_id)
        if run is None or run.state is RunState.COMPLETED or not run.forge_runs:
            return False
        if any(row.state is not RunState.COMPLETED for row in run.forge_runs):
            return False
        client = self._forges.client(run.forge)
        now = self._clock.now()
        done = replace(
            run, state=RunState.COMPLETED, conclusion=_conclusion(run.forge_runs), finished_at=now
        )
        failed = [
            row.external_id for row in done.forge_runs if row.conclusion in FAILED_CONCLUSIONS
        ]
        jobs, unavailable = await self._failed_jobs(client, done.repo, failed)
        result = run_result_reply(done, jobs, now, jobs_unavailable=unavailable)
        summary = await self._summary(client, done, now)
        subscribers = await self._subscriptions.for_repo(run.forge, run.repo, Topic.RUNS)

        def messages(origins: Sequence[StoredOrigin]) -> list[Outgoing]:
            out = [
                Outgoing(
                    target=origin.target,
                    reply=result,
                    key=f"run:{run.id}:origin:{origin.id}",
                    invocation_id=origin.invocation_id,
                )
                for origin in origins
                if follows_up(origin.target)
            ]
            if summary is not None:
                out.append(summary)
            places = {(origin.target.platform, origin.target.channel) for origin in origins}
            out += [
                Outgoing(target=sub.target, reply=result, key=f"run:{run.id}:sub:{sub.id}")
                for sub in subscribers
                if (sub.target.platform, sub.target.channel) not in places
            ]
            return out

        assert done.conclusion is not None
        won = await self._store.complete(run.id, done.conclusion, now, messages)
        if won:
            self._log.info("run %d completed: %s", run.id, done.conclusion)
            self._wake()
        return won

    async def _abandon(self, run: TrackedRun, skip_invocation: str | None) -> bool:
        """Settle a run that never started as ``error``: tell its origins (except the
        invocation whose own reply says why), nobody else."""
        now = self._clock.now()
        done = replace(run, state=RunState.COMPLETED, conclusion="error", finished_at=now)
        result = run_result_reply(done, (), now)

        def messages(origins: Sequence[StoredOrigin]) -> list[Outgoing]:
            return [
                Outgoing(
                    target=origin.target,
                    reply=result,
                    key=f"run:{run.id}:origin:{origin.id}",
                    invocation_id=origin.invocation_id,
                )
                for origin in origins
                if follows_up(origin.target)
                if skip_invocation is None or origin.invocation_id != skip_invocation
            ]

        won = await self._store.complete(run.id, "error", now, messages)
        if won:
            self._wake()
        return won

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
            key=f"run:{run.id}:summary",
        )

    async def _tell_subscribers(self, client: ForgeClient | None, event: CiRunEvent) -> None:
        """A completed forge run nobody tracks: each subscribed channel hears of it once."""
        subscribers = await self._subscriptions.for_repo(event.forge, event.repo, Topic.RUNS)
        if not subscribers:
            return
        run, now = event.run, self._clock.now()
        failed = [run.id] if run.failed else []
        jobs, unavailable = await self._failed_jobs(client, event.repo, failed)
        reply = forge_run_result_reply(event, jobs, now, jobs_unavailable=unavailable)
        base = f"forge-run:{event.forge.value}:{event.repo.lower()}:{run.id}:{run.attempt}"
        queued = False
        for sub in subscribers:
            key = _bounded(f"{base}:sub:{sub.id}")
            queued |= await self._outbox.enqueue(Outgoing(sub.target, reply, key), now)
        if queued:
            self._wake()

    async def _reconcile(self, run: TrackedRun) -> int:
        """Look one stuck run up on the forge; 1 if that settled it."""
        client = self._forges.client(run.forge)
        if client is None:
            return 0
        now = self._clock.now()
        if not run.forge_runs:
            try:
                runs = await client.ci_runs(run.repo, run.head_sha)
            except ForgeError as exc:
                self._log.warning("run %d: cannot list CI: %s", run.id, exc.message)
                await self._store.touch(run.id, now)
                return 0
            found = [
                found
                for found in runs
                if found.event == DISPATCH_EVENT
                and (found.started_at is None or found.started_at >= run.requested_at)
            ]
            if not found:
                return int(await self._abandon(run, None))
            rows = tuple(_row(each, each.attempt) for each in found)
            await self._store.save_forge_runs(run.id, rows, now, started_at=now)
            return int(await self._settle(run.id))
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
            touched |= bool(await self._apply(CiRunEvent(run.forge, run.repo, current)))
        if not touched:
            await self._store.touch(run.id, now)
        return int(await self._settle(run.id))


def follows_up(target: ReplyTarget) -> bool:
    """Whether a result can reach ``target`` later: not a shell session, which has ended."""
    return target.platform is not Platform.SHELL


def _row(run: CiRun, attempt: int) -> TrackedForgeRun:
    return TrackedForgeRun(
        external_id=run.id,
        name=run.name,
        state=STATES[run.state],
        conclusion=run.conclusion,
        url=run.url,
        attempt=attempt,
    )


def _ours(forge: Forge, change: Change, origin: Origin, now: datetime) -> NewRun:
    return NewRun(
        forge=forge,
        repo=change.target.repo,
        number=change.target.number,
        head_sha=change.head_sha,
        requested_by=origin.asked_by,
        requested_at=now,
        request_id=origin.invocation_id,
    )


def _foreign(forge: Forge, change: Change, running: Sequence[CiRun], now: datetime) -> NewRun:
    """A run for CI someone else started: requested by its actor, when it started."""
    starts = [run.started_at for run in running if run.started_at is not None]
    began = min(starts) if starts else now
    return NewRun(
        forge=forge,
        repo=change.target.repo,
        number=change.target.number,
        head_sha=change.head_sha,
        requested_by=next((run.actor for run in running if run.actor), "someone else"),
        requested_at=began,
        request_id=None,
        started_at=began,
        forge_runs=tuple(_row(run, run.attempt) for run in running),
    )


def _conclusion(forge_runs: Sequence[TrackedForgeRun]) -> str:
    conclusions = {row.conclusion for row in forge_runs}
    if conclusions & FAILED_CONCLUSIONS:
        return "failure"
    if conclusions & (CANCELLED_CONCLUSIONS - {"skipped"}):
        return "cancelled"
    return "success"


def _reran(count: int, waiting: int) -> str:
    text = f"re-ran {count} workflow run{'' if count == 1 else 's'}"
    if waiting:
        their = "its" if waiting == 1 else "their"
        text += f" ({waiting} once {their} cancellation completes)"
    return text


def _busy(change: Change) -> str:
    return (
        f"CI on {change.target} changed several times while the bot looked at it; "
        "try again in a moment."
    )


def _bounded(key: str) -> str:
    """An outbox key within the column's size: long ones end in a hash instead."""
    if len(key) <= KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: KEY_MAX - len(digest) - 1]}:{digest}"
