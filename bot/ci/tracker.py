"""The run tracker: start CI on a change, follow it, and tell everyone who asked.

``RunTracker`` is the one object the rest of the bot holds for CI runs. The CI feature
(``bot.ci.feature``) builds one from what the host gives it and hands it to what uses
it: the CI commands call it (``rescan``, ``restart``, ``runs_for``), forge webhooks feed it
(``observe``, as the ``bot.forge.CiEventSink``) and the ``ci-reconcile`` job runs it
(``reconcile``). It only composes the parts, each with one job:

- ``bot.ci.plan``: the decisions, pure (what to start, what an update means, who hears what);
- ``bot.ci.start``: ``rescan`` and ``restart``, once per invocation;
- ``bot.ci.launch``: the forge calls that start CI (dispatch, re-run, cancel);
- ``bot.ci.follow``: forge run updates, recorded and acted on;
- ``bot.ci.notices``: settling a run and telling its origins, the change's thread and the
  subscribed channels;
- ``bot.ci.reconcile``: the look-up of runs no webhook has moved;
- ``bot.ci.store``: the records.

Invariants: repositories are matched case-insensitively; every message is enqueued under
a key derived from the run (or the forge run and attempt), so nothing is told twice; a
``chatops shell`` session ends with its command, so a shell origin is recorded (it joins
and coalesces like any other) but is sent no result later (``plan.follows_up``).
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Callable

from bot.channels.store import Subscriptions
from bot.ci.follow import Follower
from bot.ci.launch import Launcher
from bot.ci.notices import Notices
from bot.ci.plan import Rescan
from bot.ci.reconcile import Reconciler
from bot.ci.records import Origin, TrackedRun
from bot.ci.settings import CiSettings
from bot.ci.start import Starter
from bot.ci.store import RunStore
from bot.clock import Clock
from bot.forge import Change, CiRunEvent, ForgeClient, Forges
from bot.messages import Forge
from bot.store.leases import Leases
from bot.store.queues import OutboxQueue

__all__ = ["RunTracker"]


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
        self._store = store or RunStore()
        notices = Notices(
            forges=forges,
            store=self._store,
            subscriptions=subscriptions or Subscriptions(),
            outbox=outbox,
            clock=clock,
            log=log,
            wake=wake,
        )
        launcher = Launcher(store=self._store, clock=clock, log=log, notices=notices)
        self._starter = Starter(
            store=self._store, settings=settings, clock=clock, launcher=launcher, notices=notices
        )
        self._follower = Follower(
            forges=forges,
            store=self._store,
            clock=clock,
            log=log,
            launcher=launcher,
            notices=notices,
        )
        self._reconciler = Reconciler(
            forges=forges,
            store=self._store,
            settings=settings,
            clock=clock,
            log=log,
            leases=leases or Leases(),
            holder=holder or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}",
            follower=self._follower,
            notices=notices,
        )

    async def rescan(self, client: ForgeClient, change: Change, origin: Origin) -> Rescan:
        """Start CI on the change's head commit, or join what runs (``bot.ci.start``)."""
        return await self._starter.rescan(client, change, origin)

    async def restart(self, client: ForgeClient, change: Change, origin: Origin) -> Rescan:
        """Cancel what runs on the head commit and start again (``bot.ci.start``)."""
        return await self._starter.restart(client, change, origin)

    async def runs_for(
        self, forge: Forge, repo: str, number: int, limit: int = 5
    ) -> list[TrackedRun]:
        """The change's tracked runs, newest first."""
        return await self._store.runs_for(forge, repo, number, limit)

    async def observe(self, event: CiRunEvent) -> None:
        """A forge run changed: update, attach, settle and notify (``bot.ci.follow``)."""
        await self._follower.observe(event)

    async def reconcile(self) -> int:
        """Look up runs no webhook has moved; how many settled (``bot.ci.reconcile``)."""
        return await self._reconciler.reconcile()
