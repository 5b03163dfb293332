"""The expiry-alert job (``bot.secrets.alerts``) on SQLite and PostgreSQL, with a fake clock:
thresholds, exactly once across runs and restarts, catch-up after downtime, the time zone,
acknowledgements, snoozes, rotation, channels that subscribe later, and paging. Outbox
rows and reports are compared whole."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from bot.channels.store import Subscriptions, Topic
from bot.clock import Clock
from bot.config import SchedulerSettings, SecretsSettings
from bot.messages import Field, Forge, Link, Platform, Reply, ReplyTarget, Status
from bot.scheduler import HousekeepingDeps, build_scheduler
from bot.secrets.alert_replies import expiry_alert_reply
from bot.secrets.alert_store import AlertKey, SecretAlerts
from bot.secrets.alerts import (
    AlertRunReport,
    ExpiryAlertDeps,
    SentAlert,
    expiry_alert_schedule,
    send_expiry_alerts,
)
from bot.secrets.models import SecretAlert
from bot.secrets.store import SecretRegistry, Tracked
from bot.store.database import Database
from bot.store.models import OutboxItem
from bot.store.queues import InboxQueue, OutboxQueue
from tests.fakes.clock import FakeClock

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # 09:00 alert runs are simulated by days
TODAY = date(2026, 11, 21)
IN_7_DAYS = date(2026, 11, 28)
ROTATE = "https://www.npmjs.com/settings/acme/tokens"
SLACK = ReplyTarget(platform=Platform.SLACK, channel="C1")
DISCORD = ReplyTarget(platform=Platform.DISCORD, channel="42")
RUNS_ONLY = ReplyTarget(platform=Platform.SLACK, channel="C9")
LOG = logging.getLogger("tests.secret_alerts")


@dataclass(frozen=True)
class Sent:
    key: str
    target: ReplyTarget
    reply: Reply


async def outbox() -> list[Sent]:
    rows = await OutboxItem.all().order_by("id")
    return [
        Sent(row.key, ReplyTarget.from_dict(row.target), Reply.from_dict(row.reply)) for row in rows
    ]


async def thresholds(name: str = "NPM_TOKEN", expires_on: date = IN_7_DAYS) -> list[int]:
    key = AlertKey(Forge.GITHUB, "acme/web", name, expires_on)
    return await SecretAlerts().thresholds(key)


def deps(settings: SecretsSettings | None = None, page_size: int = 500) -> ExpiryAlertDeps:
    """A fresh set of dependencies, as a new process (a restart) would build them."""
    return ExpiryAlertDeps(
        registry=SecretRegistry(),
        alerts=SecretAlerts(),
        subscriptions=Subscriptions(),
        settings=settings or SecretsSettings(),
        log=LOG,
        page_size=page_size,
    )


async def track(
    name: str = "NPM_TOKEN",
    expires_on: date = IN_7_DAYS,
    *,
    repo: str = "acme/web",
    now: datetime = NOW,
) -> Tracked:
    tracked, _ = await SecretRegistry().track(
        Forge.GITHUB,
        repo,
        name,
        expires_on=expires_on,
        owner="@release-team",
        rotate_url=ROTATE,
        source="command",
        set_by="alice",
        now=now,
    )
    return tracked


async def subscribe(target: ReplyTarget, topics: Topic, repo: str = "acme/web") -> int:
    subscriber, _ = await Subscriptions().subscribe(
        target, Forge.GITHUB, repo, topics, by="alice", now=NOW
    )
    return subscriber.id


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)


def alert(days_left: int, expires_on: date = IN_7_DAYS, name: str = "NPM_TOKEN") -> Reply:
    if days_left > 1:
        phrase = f"expires in {days_left} days"
    else:
        phrase = {1: "expires tomorrow", 0: "expires today"}[days_left]
    advice = (
        "Rotate it before it expires, then record the new date with "
        if days_left > 0
        else "CI that uses it may fail until it is rotated. Then record the new date with "
    )
    return Reply(
        title=f"{name} in acme/web {phrase}",
        status=Status.WARNING if days_left > 0 else Status.ERROR,
        paragraphs=(f"{advice}`secrets track {name} --repo acme/web --expires YYYY-MM-DD`.",),
        fields=(
            Field("expires", expires_on.isoformat()),
            Field("owner", "@release-team"),
            Field(
                "acknowledge", f"`secrets ack {name} --repo acme/web` stops alerts for this date"
            ),
            Field(
                "snooze",
                f"`secrets snooze {name} 3d --repo acme/web` holds alerts back for 3 days",
            ),
        ),
        links=(Link(f"Rotate {name}", ROTATE),),
    )


def sent(
    threshold: int, channels: int = 2, name: str = "NPM_TOKEN", expires_on: date = IN_7_DAYS
) -> SentAlert:
    return SentAlert(Forge.GITHUB, "acme/web", name, expires_on, threshold, channels)


async def alert_id(threshold: int, name: str = "NPM_TOKEN", expires_on: date = IN_7_DAYS) -> int:
    row = await SecretAlert.get(name=name, threshold_days=threshold, expires_on=expires_on)
    return int(row.id)


async def test_seven_days_before_each_subscribed_channel_gets_one_alert_once(
    database: Database,
) -> None:
    await track()
    slack = await subscribe(SLACK, Topic.ALERTS)
    discord = await subscribe(DISCORD, Topic.ALL)
    await subscribe(RUNS_ONLY, Topic.RUNS)
    await subscribe(SLACK, Topic.ALERTS, repo="acme/api")

    first = await send_expiry_alerts(deps(), NOW)
    next_day = await send_expiry_alerts(deps(), NOW + timedelta(days=1))
    restarted = await send_expiry_alerts(deps(), NOW + timedelta(days=1, hours=2))

    seven = await alert_id(7)
    assert first == AlertRunReport(today=TODAY, scanned=1, sent=(sent(7),))
    assert next_day == AlertRunReport(today=date(2026, 11, 22), scanned=1, already=1)
    assert restarted == AlertRunReport(today=date(2026, 11, 22), scanned=1, already=1)
    assert await outbox() == [
        Sent(f"secret-alert:{seven}:sub:{slack}", SLACK, alert(7)),
        Sent(f"secret-alert:{seven}:sub:{discord}", DISCORD, alert(7)),
    ]
    assert await thresholds() == [30, 7]  # 30 passed before tracking: recorded, never sent


async def test_each_threshold_fires_on_its_day_and_then_never_again(database: Database) -> None:
    expires_on = TODAY + timedelta(days=31)
    await track(expires_on=expires_on)
    channel = await subscribe(SLACK, Topic.ALL)

    reports = []
    for day in range(34):  # one run a day, through two days after the expiry date
        reports.append(await send_expiry_alerts(deps(), at(TODAY + timedelta(days=day))))

    sent_days = {day: report.sent for day, report in enumerate(reports) if report.sent}
    assert sent_days == {
        1: (sent(30, 1, expires_on=expires_on),),
        24: (sent(7, 1, expires_on=expires_on),),
        30: (sent(1, 1, expires_on=expires_on),),
        31: (sent(0, 1, expires_on=expires_on),),
    }
    ids = [await alert_id(days, expires_on=expires_on) for days in (30, 7, 1, 0)]
    assert await outbox() == [
        Sent(f"secret-alert:{ids[0]}:sub:{channel}", SLACK, alert(30, expires_on)),
        Sent(f"secret-alert:{ids[1]}:sub:{channel}", SLACK, alert(7, expires_on)),
        Sent(f"secret-alert:{ids[2]}:sub:{channel}", SLACK, alert(1, expires_on)),
        Sent(f"secret-alert:{ids[3]}:sub:{channel}", SLACK, alert(0, expires_on)),
    ]
    assert reports[0] == AlertRunReport(today=TODAY, scanned=0)
    assert reports[33] == AlertRunReport(today=TODAY + timedelta(days=33), scanned=1, already=1)


async def test_after_downtime_only_the_most_urgent_threshold_is_sent(database: Database) -> None:
    expires_on = TODAY + timedelta(days=31)
    await track(expires_on=expires_on)
    channel = await subscribe(SLACK, Topic.ALL)

    before = await send_expiry_alerts(deps(), at(TODAY))
    # the bot is down from then until 5 days before the expiry date
    back = await send_expiry_alerts(deps(), at(expires_on - timedelta(days=5)))
    again = await send_expiry_alerts(deps(), at(expires_on - timedelta(days=4)))
    last_day = await send_expiry_alerts(deps(), at(expires_on - timedelta(days=1)))

    assert before == AlertRunReport(today=TODAY, scanned=0)
    assert back.sent == (sent(7, 1, expires_on=expires_on),)
    assert (again.sent, again.already) == ((), 1)
    assert last_day.sent == (sent(1, 1, expires_on=expires_on),)
    seven, one = await alert_id(7, expires_on=expires_on), await alert_id(1, expires_on=expires_on)
    assert await outbox() == [
        Sent(f"secret-alert:{seven}:sub:{channel}", SLACK, alert(5, expires_on)),
        Sent(f"secret-alert:{one}:sub:{channel}", SLACK, alert(1, expires_on)),
    ]
    assert await thresholds(expires_on=expires_on) == [30, 7, 1]


async def test_days_are_counted_in_the_configured_time_zone(database: Database) -> None:
    # 12:00 UTC on 21 November is 01:00 on 22 November in Auckland (UTC+13)
    await track(expires_on=date(2026, 11, 29))
    await subscribe(SLACK, Topic.ALERTS)

    utc = SecretsSettings(timezone="UTC", thresholds_days=(7,))
    auckland = SecretsSettings(timezone="Pacific/Auckland", thresholds_days=(7,))
    in_utc = await send_expiry_alerts(deps(utc), NOW)
    in_auckland = await send_expiry_alerts(deps(auckland), NOW)

    assert in_utc == AlertRunReport(today=TODAY, scanned=0)  # 8 days away in UTC
    assert in_utc.sent == ()
    assert in_auckland == AlertRunReport(
        today=date(2026, 11, 22),
        scanned=1,
        sent=(sent(7, 1, expires_on=date(2026, 11, 29)),),
    )


async def test_an_acknowledged_expiry_gets_no_more_alerts_until_a_new_date(
    database: Database,
) -> None:
    await track()
    channel = await subscribe(SLACK, Topic.ALL)
    await send_expiry_alerts(deps(), NOW)
    await SecretAlerts().ack(Forge.GITHUB, "acme/web", "NPM_TOKEN")

    acknowledged = await send_expiry_alerts(deps(), NOW + timedelta(days=6))
    rotated_to = date(2026, 11, 30)  # re-tracked after rotation, 3 days left
    await track(expires_on=rotated_to, now=NOW + timedelta(days=6, hours=1))
    fresh = await send_expiry_alerts(deps(), NOW + timedelta(days=6, hours=2))

    assert acknowledged == AlertRunReport(today=date(2026, 11, 27), scanned=1, acknowledged=1)
    assert fresh.sent == (sent(7, 1, expires_on=rotated_to),)
    old, new = await alert_id(7), await alert_id(7, expires_on=rotated_to)
    assert await outbox() == [
        Sent(f"secret-alert:{old}:sub:{channel}", SLACK, alert(7)),
        Sent(f"secret-alert:{new}:sub:{channel}", SLACK, alert(3, rotated_to)),
    ]


async def test_a_snooze_holds_alerts_then_the_most_urgent_due_is_sent_once(
    database: Database,
) -> None:
    await track()
    channel = await subscribe(SLACK, Topic.ALL)
    await send_expiry_alerts(deps(), NOW)
    await SecretAlerts().snooze(
        Forge.GITHUB, "acme/web", "NPM_TOKEN", NOW + timedelta(days=7, hours=1)
    )

    held = await send_expiry_alerts(deps(), at(date(2026, 11, 27)))  # 1 day left
    ended = await send_expiry_alerts(deps(), NOW + timedelta(days=7, hours=2))  # expiry day
    after = await send_expiry_alerts(deps(), NOW + timedelta(days=7, hours=3))

    assert held == AlertRunReport(today=date(2026, 11, 27), scanned=1, snoozed=1)
    assert ended == AlertRunReport(today=IN_7_DAYS, scanned=1, sent=(sent(0, 1),))
    assert after == AlertRunReport(today=IN_7_DAYS, scanned=1, already=1)
    seven, zero = await alert_id(7), await alert_id(0)
    assert await outbox() == [
        Sent(f"secret-alert:{seven}:sub:{channel}", SLACK, alert(7)),
        Sent(f"secret-alert:{zero}:sub:{channel}", SLACK, alert(0)),
    ]
    assert await thresholds() == [30, 7, 1, 0]  # the 1-day threshold fell in the snooze


async def test_without_a_subscribed_channel_nothing_is_recorded_until_one_subscribes(
    database: Database,
) -> None:
    await track()
    await subscribe(RUNS_ONLY, Topic.RUNS)

    unheard = await send_expiry_alerts(deps(), NOW)
    alerts_before = await SecretAlert.all().count()
    channel = await subscribe(SLACK, Topic.ALERTS)
    heard = await send_expiry_alerts(deps(), NOW + timedelta(days=2))

    assert unheard == AlertRunReport(today=TODAY, scanned=1, unheard=1)
    assert alerts_before == 0
    assert heard == AlertRunReport(today=date(2026, 11, 23), scanned=1, sent=(sent(7, 1),))
    assert await outbox() == [
        Sent(f"secret-alert:{await alert_id(7)}:sub:{channel}", SLACK, alert(5)),
    ]


async def test_secrets_are_read_page_by_page_and_far_ones_are_not_read(
    database: Database,
) -> None:
    for index in range(7):
        await track(f"TOKEN_{index}", TODAY + timedelta(days=index))
    await track("FAR_AWAY", TODAY + timedelta(days=31))
    await subscribe(SLACK, Topic.ALERTS)
    settings = SecretsSettings(thresholds_days=(3, 0))

    report = await send_expiry_alerts(deps(settings, page_size=2), NOW)

    assert report == AlertRunReport(
        today=TODAY,
        scanned=4,  # TOKEN_4..6 and FAR_AWAY are beyond the largest threshold
        sent=tuple(
            sent(0 if index == 0 else 3, 1, f"TOKEN_{index}", TODAY + timedelta(days=index))
            for index in range(4)
        ),
    )
    assert await OutboxItem.all().count() == 4


async def test_an_expired_secret_tracked_late_gets_the_expired_alert_once(
    database: Database,
) -> None:
    expired_on = TODAY - timedelta(days=3)
    await track("OLD_KEY", expired_on)
    await subscribe(SLACK, Topic.ALERTS)

    first = await send_expiry_alerts(deps(), NOW)
    second = await send_expiry_alerts(deps(), NOW + timedelta(days=1))

    tracked = await SecretRegistry().get(Forge.GITHUB, "acme/web", "OLD_KEY")
    assert tracked is not None
    assert first.sent == (sent(0, 1, "OLD_KEY", expired_on),)
    assert second == AlertRunReport(today=date(2026, 11, 22), scanned=1, already=1)
    assert [sent.reply for sent in await outbox()] == [expiry_alert_reply(tracked, expired_on, -3)]
    assert [sent.reply.title for sent in await outbox()] == [
        "OLD_KEY in acme/web expired 3 days ago"
    ]


def test_the_schedule_runs_at_start_and_on_the_cron_line_in_its_zone() -> None:
    clock: Clock = FakeClock(NOW)
    settings = SecretsSettings(alert_cron="30 8 * * 1-5", timezone="Europe/Berlin")
    woken: list[None] = []

    job = expiry_alert_schedule(settings, clock, LOG, lambda: woken.append(None))

    assert (job.name, job.cron, job.run_at_start, job.timezone) == (
        "secret-expiry-alerts",
        "30 8 * * 1-5",
        True,
        "Europe/Berlin",
    )
    unopened = Database(url="sqlite://:memory:", dialect="sqlite")  # nothing runs here
    housekeeping = HousekeepingDeps(
        inbox=InboxQueue(unopened),
        outbox=OutboxQueue(unopened),
        retention=timedelta(days=1),
        log=LOG,
    )
    scheduler = build_scheduler(SchedulerSettings(timezone="UTC"), housekeeping, clock, [job])
    triggers = {item.id: item.trigger for item in scheduler.get_jobs()}
    assert isinstance(triggers["secret-expiry-alerts"], CronTrigger)
    assert isinstance(triggers["housekeeping"], CronTrigger)
    assert (
        str(triggers["secret-expiry-alerts"]),
        str(triggers["secret-expiry-alerts"].timezone),
        str(triggers["housekeeping"].timezone),
    ) == (
        "cron[month='*', day='*', day_of_week='mon,tue,wed,thu,fri', hour='8', minute='30']",
        "Europe/Berlin",
        "UTC",
    )
    assert woken == []
