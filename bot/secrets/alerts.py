"""The scheduled expiry-alert job: each (secret, threshold, expiry date) alerted exactly once.

``send_expiry_alerts(deps, now)`` is a plain async function; ``expiry_alert_schedule``
makes it the job the secrets feature (``bot.secrets.feature``) hands the scheduler, on
``[secrets] alert_cron`` in ``[secrets] timezone`` and once at start-up. It pages
through the tracked secrets that expire within the largest threshold
(``SecretRegistry.expiring``, by id, ``page_size`` at a time) and, for each:

1. counts the days left from *today in the configured time zone* to its expiry date;
2. takes the thresholds already reached (``days_left <= threshold``); none: nothing to do;
3. skips it while its alerts are acknowledged for this expiry date or snoozed;
4. alerts only the **most urgent** threshold reached, once: the thresholds reached
   earlier but never alerted (the bot was down, or snoozed, across them) are recorded as
   done in the same transaction, so they never fire late. A job run the next day, after a
   restart or on another replica finds the alert recorded and sends nothing;
5. enqueues the alert (``bot.secrets.alert_replies``) to every channel subscribed to the
   repository's alerts (topic ``alerts`` or ``all``), in the transaction that records it
   (``SecretAlerts.claim``), under the outbox key ``secret-alert:<alert id>:sub:<id>``.

A repository with no subscribed channel: the alert is **not recorded**, so the channel
that subscribes later gets the most urgent alert due on the next run (an alert nobody
received was not sent). Such secrets are counted as ``unheard`` in the report.

Alerts go to chat channels only; opening an issue in the repository needs issue methods
on ``bot.forge.ForgeClient`` first.

Invariants: the job never sleeps and never reads the wall clock (``now`` is passed in);
nothing is kept in memory between runs (the store decides what was sent); a failure on
one secret is logged and the scan goes on, and the secret is looked at again next run.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.channels.store import Subscriber, Subscriptions, Topic
from bot.clock import Clock
from bot.messages import Forge, Outgoing, Reply
from bot.parts import ScheduledJob
from bot.pipeline.keys import secret_alert_key
from bot.secrets.alert_replies import expiry_alert_reply
from bot.secrets.alert_store import AlertKey, SecretAlerts
from bot.secrets.settings import SecretsSettings
from bot.secrets.store import SecretRegistry, Tracked

JOB_NAME = "secret-expiry-alerts"
PAGE_SIZE = 500


def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class ExpiryAlertDeps:
    """What the job needs; a fresh one per process (it holds no state of its own)."""

    registry: SecretRegistry
    alerts: SecretAlerts
    subscriptions: Subscriptions
    settings: SecretsSettings
    log: logging.Logger
    wake: Callable[[], None] = _nothing  # tells the outbox sender there is work
    page_size: int = PAGE_SIZE


@dataclass(frozen=True, slots=True)
class SentAlert:
    """One alert this run recorded and enqueued."""

    forge: Forge
    repo: str
    name: str
    expires_on: date
    threshold_days: int
    channels: int


@dataclass(frozen=True, slots=True)
class AlertRunReport:
    """What one run of the job did (for logs and tests)."""

    today: date  # in the configured time zone
    scanned: int  # tracked secrets within the largest threshold
    sent: tuple[SentAlert, ...] = ()
    already: int = 0  # the most urgent threshold was recorded by an earlier run
    taken: int = 0  # a concurrent run (another replica) recorded it first
    acknowledged: int = 0
    snoozed: int = 0
    unheard: int = 0  # due, but no channel is subscribed: left for a later run
    failed: int = 0  # an error; logged, tried again next run


@dataclass
class _Tally:
    scanned: int = 0
    sent: list[SentAlert] = field(default_factory=list)
    already: int = 0
    taken: int = 0
    acknowledged: int = 0
    snoozed: int = 0
    unheard: int = 0
    failed: int = 0


def today_in(zone: str, now: datetime) -> date:
    """The calendar date at ``now`` in the time zone ``zone`` (an IANA name)."""
    return now.astimezone(ZoneInfo(zone)).date()


def thresholds_reached(thresholds: Sequence[int], days_left: int) -> list[int]:
    """The thresholds (largest first) that ``days_left`` has reached."""
    return [threshold for threshold in thresholds if days_left <= threshold]


async def send_expiry_alerts(deps: ExpiryAlertDeps, now: datetime) -> AlertRunReport:
    """Alert every secret whose next threshold is due (module docstring)."""
    settings = deps.settings
    today = today_in(settings.timezone, now)
    horizon = today + timedelta(days=max(settings.thresholds_days) + 1)
    tally = _Tally()
    audiences: dict[tuple[Forge, str], list[Subscriber]] = {}
    after_id = 0
    while True:
        page = await deps.registry.expiring(horizon, after_id=after_id, limit=deps.page_size)
        if not page:
            break
        after_id = page[-1].id
        tally.scanned += len(page)
        recorded = await deps.alerts.recorded(AlertKey.of(tracked) for tracked in page)
        for tracked in page:
            try:
                await _consider(deps, tracked, today, now, recorded, audiences, tally)
            except Exception:
                tally.failed += 1
                deps.log.exception(
                    "expiry alert for %s in %s failed; next run", tracked.name, tracked.repo
                )
        if len(page) < deps.page_size:
            break
    if tally.sent:
        deps.wake()
    report = AlertRunReport(
        today=today,
        scanned=tally.scanned,
        sent=tuple(tally.sent),
        already=tally.already,
        taken=tally.taken,
        acknowledged=tally.acknowledged,
        snoozed=tally.snoozed,
        unheard=tally.unheard,
        failed=tally.failed,
    )
    deps.log.info(
        "expiry alerts for %s: %d scanned, %d sent, %d without a subscribed channel",
        today.isoformat(),
        report.scanned,
        len(report.sent),
        report.unheard,
    )
    return report


async def _consider(
    deps: ExpiryAlertDeps,
    tracked: Tracked,
    today: date,
    now: datetime,
    recorded: dict[AlertKey, frozenset[int]],
    audiences: dict[tuple[Forge, str], list[Subscriber]],
    tally: _Tally,
) -> None:
    key = AlertKey.of(tracked)
    days_left = (key.expires_on - today).days
    reached = thresholds_reached(deps.settings.thresholds_days, days_left)
    if not reached:
        return
    if tracked.acknowledged:
        tally.acknowledged += 1
        return
    if tracked.snoozed_until is not None and tracked.snoozed_until > now:
        tally.snoozed += 1
        return
    urgent, passed = reached[-1], reached[:-1]
    if urgent in recorded.get(key, frozenset()):
        tally.already += 1
        return
    audience = audiences.get((key.forge, key.repo))
    if audience is None:
        audience = await deps.subscriptions.for_repo(key.forge, key.repo, Topic.ALERTS)
        audiences[(key.forge, key.repo)] = audience
    if not audience:
        tally.unheard += 1
        return
    reply = expiry_alert_reply(tracked, key.expires_on, days_left)
    alert_id = await deps.alerts.claim(
        key, urgent, passed, now, lambda alert: _messages(alert, audience, reply)
    )
    if alert_id is None:
        tally.taken += 1
        return
    tally.sent.append(
        SentAlert(key.forge, key.repo, key.name, key.expires_on, urgent, len(audience))
    )


def _messages(alert_id: int, audience: Sequence[Subscriber], reply: Reply) -> list[Outgoing]:
    return [
        Outgoing(target=sub.target, reply=reply, key=secret_alert_key(alert_id, sub.id))
        for sub in audience
    ]


def expiry_alert_job(deps: ExpiryAlertDeps, clock: Clock) -> Callable[[], Awaitable[None]]:
    """The job as the scheduler runs it: now from ``clock``; a failure is logged, not raised."""

    async def job() -> None:
        try:
            await send_expiry_alerts(deps, clock.now())
        except Exception:
            deps.log.exception("the expiry-alert job failed; it runs again on schedule")

    return job


def expiry_alert_schedule(
    settings: SecretsSettings, clock: Clock, log: logging.Logger, wake: Callable[[], None]
) -> ScheduledJob:
    """The job for the scheduler: on ``alert_cron`` in ``timezone``, and once at start-up
    (the catch-up after downtime)."""
    deps = ExpiryAlertDeps(
        registry=SecretRegistry(),
        alerts=SecretAlerts(),
        subscriptions=Subscriptions(),
        settings=settings,
        log=log,
        wake=wake,
    )
    return ScheduledJob(
        JOB_NAME,
        settings.alert_cron,
        expiry_alert_job(deps, clock),
        run_at_start=True,
        timezone=settings.timezone,
    )
