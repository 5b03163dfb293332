"""The tracked CI runs in the database: ``Run`` rows, their forge runs and their origins.

``RunStore`` is the run tracker's (``bot.ci.tracker``) only way to the ``Run``, ``ForgeRun`` and
``RunOrigin`` tables; it decides nothing about CI, it keeps the records consistent:

- ``create`` inserts a run with its first origin (and any forge runs) in one transaction;
  ``replace`` does the same for ``restart``, settling the run it supersedes;
- ``add_origin`` adds a place waiting for a run, only while the run is not completed;
- ``save_forge_run`` records what the forge said about one of a run's forge runs, and
  recomputes the run's state (never to completed: that is ``complete``'s job);
- ``complete`` is the one transition to completed: a conditional update that one caller
  wins, across duplicate webhooks and replicas, and that enqueues the winner's messages
  in the same transaction.

Invariants:
- ``active_key`` (``forge:repo:sha``) is set while a run is not completed and NULL after;
  the unique index makes a second live run for a commit an ``ActiveRunExists``.
- Repositories are matched case-insensitively: a run keeps the forge's spelling (for API
  calls and replies), its ``active_key`` and its forge runs' ``repo`` are lower-case. An
  origin is unique per run and place (platform, channel and thread).
- Data leaves as the frozen records of ``bot.ci.records`` (``TrackedRun``...), never as
  ORM rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from bot.ci.models import ForgeRun, Run, RunOrigin, RunState
from bot.ci.records import (
    ActiveRunExists,
    NewRun,
    Origin,
    StoredOrigin,
    TrackedForgeRun,
    TrackedRun,
    active_key,
    place_of,
    run_state,
)
from bot.messages import Forge, Outgoing, ReplyTarget
from bot.store.queues import enqueue_in_transaction
from bot.store.transactions import transaction

__all__ = ["RunStore"]


class RunStore:
    async def get(self, run_id: int) -> TrackedRun | None:
        row = await Run.get_or_none(id=run_id)
        return None if row is None else await _tracked(row)

    async def active(self, forge: Forge, repo: str, sha: str) -> TrackedRun | None:
        """The live (not completed) run for the commit, if any."""
        row = await Run.get_or_none(active_key=active_key(forge, repo, sha))
        return None if row is None else await _tracked(row)

    async def by_invocation(self, invocation_id: str) -> tuple[TrackedRun, StoredOrigin] | None:
        """The run an invocation asked about (the latest, if several), and its origin row."""
        origin = await RunOrigin.filter(invocation_id=invocation_id).order_by("-id").first()
        if origin is None:
            return None
        run = await self.get(origin.run_id)  # type: ignore[attr-defined]
        return None if run is None else (run, _origin(origin))

    async def runs_for(self, forge: Forge, repo: str, number: int, limit: int) -> list[TrackedRun]:
        """The change's tracked runs, newest first."""
        rows = (
            await Run.filter(forge=forge.value, repo__iexact=repo, number=number)
            .order_by("-id")
            .limit(limit)
        )
        return [await _tracked(row) for row in rows]

    async def stale(self, before: datetime) -> list[TrackedRun]:
        """Runs not completed that have not changed since ``before``, oldest first."""
        rows = await Run.filter(state__not=RunState.COMPLETED, updated_at__lt=before).order_by("id")
        return [await _tracked(row) for row in rows]

    async def origins(self, run_id: int) -> list[StoredOrigin]:
        return [_origin(row) for row in await RunOrigin.filter(run_id=run_id).order_by("id")]

    async def create(self, new: NewRun, origin: Origin, now: datetime) -> TrackedRun:
        """Insert a live run with its first origin; ``ActiveRunExists`` if one is live."""
        key = active_key(new.forge, new.repo, new.head_sha)
        try:
            async with transaction():
                row = await _insert(new, key, now)
                await _add_origin(row.id, origin, now)
        except IntegrityError as exc:
            raise ActiveRunExists(key) from exc
        return await _tracked(row)

    async def replace(
        self, new: NewRun, origin: Origin, now: datetime, expected: int | None
    ) -> TrackedRun:
        """Insert a live run in place of ``expected``, the run that was live when asked.

        The superseded run is completed as ``cancelled`` without messages, and its origins
        move to the new run (so they hear its result instead). If the live run is not
        ``expected`` any more (a concurrent restart made a new one), ``ActiveRunExists``;
        if none is live (``expected`` completed on its own), the new run simply starts.
        """
        key = active_key(new.forge, new.repo, new.head_sha)
        try:
            async with transaction():
                current = await Run.filter(active_key=key).select_for_update().first()
                if current is not None and current.id != expected:
                    raise ActiveRunExists(key)
                if current is not None:
                    await Run.filter(id=current.id).update(
                        state=RunState.COMPLETED,
                        conclusion="cancelled",
                        finished_at=now,
                        updated_at=now,
                        active_key=None,
                    )
                row = await _insert(new, key, now)
                place = place_of(origin.target)
                if current is not None:
                    await RunOrigin.filter(run_id=current.id, place=place).delete()
                    await RunOrigin.filter(run_id=current.id).update(run_id=row.id)
                await _add_origin(row.id, origin, now)
        except IntegrityError as exc:
            raise ActiveRunExists(key) from exc
        return await _tracked(row)

    async def add_origin(self, run_id: int, origin: Origin, now: datetime) -> bool:
        """Add a place waiting for the run; False if the run completed meanwhile."""
        try:
            async with transaction():
                row = await Run.filter(id=run_id).select_for_update().first()
                if row is None or row.state is RunState.COMPLETED:
                    return False
                await _add_origin(run_id, origin, now)
        except IntegrityError:
            # the same place was added concurrently: it waits for the run either way
            return True
        return True

    async def save_forge_run(self, run_id: int, forge_run: TrackedForgeRun, now: datetime) -> None:
        """Insert or update one forge run of a run, then recompute the run's state."""
        await self.save_forge_runs(run_id, (forge_run,), now)

    async def save_forge_runs(
        self,
        run_id: int,
        forge_runs: Sequence[TrackedForgeRun],
        now: datetime,
        *,
        started_at: datetime | None = None,
    ) -> None:
        """Insert or update forge runs of a run and recompute its state; ``started_at`` marks
        that the start was accepted (kept if already set). A completed run is left alone."""
        async with transaction():
            run = await Run.filter(id=run_id).select_for_update().first()
            if run is None or run.state is RunState.COMPLETED:
                return
            for forge_run in forge_runs:
                await _upsert_forge_run(run, forge_run, now)
            await _refresh(run, now, started_at)

    async def drop_forge_run(self, run_id: int, external_id: str, now: datetime) -> None:
        """Forget a forge run the bot could not start after all."""
        async with transaction():
            run = await Run.filter(id=run_id).select_for_update().first()
            if run is None or run.state is RunState.COMPLETED:
                return
            await ForgeRun.filter(run_id=run_id, external_id=external_id).delete()
            await _refresh(run, now, None)

    async def waiting_on(
        self, forge: Forge, repo: str, external_id: str
    ) -> list[tuple[int, TrackedForgeRun]]:
        """Rows of runs not completed that wait on this forge run: (run id, forge run)."""
        rows = await ForgeRun.filter(
            forge=forge.value,
            repo=repo.lower(),
            external_id=external_id,
            run__state__not=RunState.COMPLETED,
        ).order_by("id")
        return [(row.run_id, _forge_run(row)) for row in rows]  # type: ignore[attr-defined]

    async def tracks(self, forge: Forge, repo: str, external_id: str, attempt: int) -> bool:
        """Whether a run (live or not) follows this forge run at this attempt or a later one."""
        return await ForgeRun.filter(
            forge=forge.value, repo=repo.lower(), external_id=external_id, attempt__gte=attempt
        ).exists()

    async def touch(self, run_id: int, now: datetime) -> None:
        await Run.filter(id=run_id, state__not=RunState.COMPLETED).update(updated_at=now)

    async def complete(
        self,
        run_id: int,
        conclusion: str,
        now: datetime,
        messages: Callable[[Sequence[StoredOrigin]], Sequence[Outgoing]],
    ) -> bool:
        """Complete the run and enqueue ``messages(origins)``, all in one transaction.

        Only the first caller wins (a conditional update); the others get False and
        enqueue nothing, so duplicate webhooks and replicas cannot send a result twice.
        """
        async with transaction():
            won: int = await Run.filter(id=run_id, state__not=RunState.COMPLETED).update(
                state=RunState.COMPLETED,
                conclusion=conclusion,
                finished_at=now,
                updated_at=now,
                active_key=None,
            )
            if not won:
                return False
            origins = [_origin(row) for row in await RunOrigin.filter(run_id=run_id).order_by("id")]
            for outgoing in messages(origins):
                await enqueue_in_transaction(outgoing, now)
        return True


async def _insert(new: NewRun, key: str, now: datetime) -> Run:
    forge_runs = new.forge_runs
    row = await Run.create(
        forge=new.forge.value,
        repo=new.repo,
        number=new.number,
        head_sha=new.head_sha,
        state=run_state(forge_runs) if forge_runs else RunState.REQUESTED,
        requested_by=new.requested_by,
        requested_at=new.requested_at,
        request_id=new.request_id,
        started_at=new.started_at,
        updated_at=now,
        active_key=key,
    )
    for forge_run in forge_runs:
        await _upsert_forge_run(row, forge_run, now)
    return row


async def _add_origin(run_id: int, origin: Origin, now: datetime) -> None:
    place = place_of(origin.target)
    if await RunOrigin.filter(run_id=run_id, place=place).exists():
        return
    await RunOrigin.create(
        run_id=run_id,
        place=place,
        target=origin.target.to_dict(),
        invocation_id=origin.invocation_id,
        asked_by=origin.asked_by,
        added_at=now,
    )


async def _upsert_forge_run(run: Run, forge_run: TrackedForgeRun, now: datetime) -> None:
    values: dict[str, Any] = {
        "name": forge_run.name,
        "state": forge_run.state,
        "conclusion": forge_run.conclusion,
        "url": forge_run.url,
        "attempt": forge_run.attempt,
        "updated_at": now,
    }
    updated = await ForgeRun.filter(run_id=run.id, external_id=forge_run.external_id).update(
        **values
    )
    if not updated:
        await ForgeRun.create(
            run_id=run.id,
            forge=run.forge,
            repo=run.repo.lower(),
            external_id=forge_run.external_id,
            **values,
        )


async def _refresh(run: Run, now: datetime, started_at: datetime | None) -> None:
    rows = await ForgeRun.filter(run_id=run.id)
    forge_runs = [_forge_run(row) for row in rows]
    state = run_state(forge_runs) if forge_runs else RunState.REQUESTED
    if state is RunState.COMPLETED:
        # all done: stay live until ``complete`` settles it and tells everyone
        state = RunState.IN_PROGRESS
    changes: dict[str, object] = {"state": state, "updated_at": now}
    if started_at is not None and run.started_at is None:
        changes["started_at"] = started_at
    await Run.filter(id=run.id).update(**changes)


async def _tracked(row: Run) -> TrackedRun:
    forge_rows = await ForgeRun.filter(run_id=row.id).order_by("id")
    origins = await RunOrigin.filter(run_id=row.id).count()
    return TrackedRun(
        id=row.id,
        forge=Forge(row.forge),
        repo=row.repo,
        number=row.number,
        head_sha=row.head_sha,
        state=RunState(row.state),
        conclusion=row.conclusion,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        forge_runs=tuple(_forge_run(forge_row) for forge_row in forge_rows),
        origins=origins,
        request_id=row.request_id,
        updated_at=row.updated_at,
    )


def _forge_run(row: ForgeRun) -> TrackedForgeRun:
    return TrackedForgeRun(
        external_id=row.external_id,
        name=row.name,
        state=RunState(row.state),
        conclusion=row.conclusion,
        url=row.url,
        attempt=row.attempt,
    )


def _origin(row: RunOrigin) -> StoredOrigin:
    return StoredOrigin(
        id=row.id,
        run_id=row.run_id,  # type: ignore[attr-defined]
        target=ReplyTarget.from_dict(row.target),
        invocation_id=row.invocation_id,
        asked_by=row.asked_by,
        added_at=row.added_at,
    )
