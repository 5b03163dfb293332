"""The CI feature as one value: its commands, its reconcile job, and the CI-event sink.

``setup`` builds the run tracker (``bot.ci.tracker``) from the host: it starts runs for
``rescan`` and ``restart``, is where the forges' webhooks hand CI run updates
(``Provided.ci_events``), and, when a forge is configured, reconciles stuck runs on
``ci.reconcile_cron`` (the ``ci-reconcile`` job). ``status`` and ``update`` read its runs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.ci.tracker import RunTracker
from bot.features import FeatureHost, Provided
from bot.parts import ScheduledJob
from commands import rescan, status

RECONCILE_JOB = "ci-reconcile"


@dataclass(frozen=True, slots=True)
class CiFeature:
    name: str = "ci"
    section: str | None = "ci"

    def setup(self, host: FeatureHost) -> Provided:
        config = host.config
        tracker = RunTracker(
            forges=host.forges,
            settings=config.ci,
            clock=host.clock,
            outbox=host.outbox,
            log=host.log,
            wake=host.wake,
        )
        jobs: tuple[ScheduledJob, ...] = ()
        if config.github.enabled or config.gitlab.enabled:
            run = reconcile_job(tracker, host.log)
            jobs = (ScheduledJob(RECONCILE_JOB, config.ci.reconcile_cron, run),)
        return Provided(
            commands=(*status.commands(tracker), *rescan.commands(tracker)),
            jobs=jobs,
            ci_events=tracker,
        )


def reconcile_job(tracker: RunTracker, log: logging.Logger) -> Callable[[], Awaitable[None]]:
    """The job as the scheduler runs it: a failure is logged, and it runs again on schedule."""

    async def job() -> None:
        try:
            await tracker.reconcile()
        except Exception:
            log.exception("CI reconciliation failed; it runs again on schedule")

    return job
