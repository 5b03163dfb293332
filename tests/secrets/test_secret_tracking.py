"""``secrets track|untrack|ack|snooze`` through the shell front door (the whole pipeline,
rendered text out, compared whole), and the repository taken from a forge thread through
the router; on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import logging
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.app import builtin_commands
from bot.config import Config, PermissionGrant, PermissionsSettings, SecretsSettings
from bot.context import Services
from bot.errors import UsageError
from bot.messages import (
    Actor,
    Field,
    Forge,
    Invocation,
    Level,
    Platform,
    Reply,
    ReplyTarget,
    Status,
    Target,
    TargetKind,
)
from bot.permissions import ConfigAuthorizer
from bot.pipeline.assembly import build_pipeline
from bot.router import Router
from bot.secrets.store import SecretRegistry, Tracked
from bot.store.database import Database
from commands.secret_tracking_input import parse_duration, parse_expiry
from connectors.shell.client import ShellConnector
from connectors.shell.inbound import ShellSession
from tests.fakes.clock import FakeClock

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
ROTATE = "https://www.npmjs.com/settings/acme/tokens"
TRACK_USAGE = (
    "Usage: secrets track NAME [--repo OWNER/REPO] --expires DATE [--owner @WHO] "
    "[--rotate-url URL]\n"
    "Examples:\n"
    "  secrets track NPM_TOKEN --repo acme/web --expires 2027-03-31\n"
    "  secrets track DEPLOY_KEY --expires 90d --owner @ops --rotate-url "
    "https://example.com/keys\n"
)
SNOOZE_USAGE = (
    "Usage: secrets snooze NAME DURATION [--repo OWNER/REPO]\n"
    "Examples: secrets snooze NPM_TOKEN 3d --repo acme/web\n"
)


def shell(
    database: Database,
    output: io.StringIO,
    clock: FakeClock,
    *,
    user: str = "operator",
    settings: SecretsSettings | None = None,
) -> ShellSession:
    writer = PermissionGrant(level=Level.WRITE, platform="shell", users=("operator",))
    connector = ShellConnector(output)
    pipeline = build_pipeline(
        Config(permissions=PermissionsSettings(grants=(writer,))),
        database,
        commands=builtin_commands(Config(secrets=settings or SecretsSettings())),
        connectors={Platform.SHELL: connector},
        services=Services(clock=clock, started_at=clock.now(), version="2.0.0"),
        log=logging.getLogger("tests.secret_tracking"),
    )
    return ShellSession(pipeline, connector, user=user, reply_timeout=10.0)


async def run(session: ShellSession, clock: FakeClock, *lines: str) -> None:
    for line in lines:
        await session.run_line(line)
        clock.advance(60)


async def test_track_update_and_untrack_a_secret(database: Database) -> None:
    output, clock = io.StringIO(), FakeClock(NOW)
    session = shell(database, output, clock)
    await run(
        session,
        clock,
        f"secrets track NPM_TOKEN --repo Acme/Web --expires 2026-12-28 --owner @release-team "
        f"--rotate-url {ROTATE}",
        "secrets track NPM_TOKEN --repo acme/web --expires 2027-03-31",
        "secrets track NPM_TOKEN --repo acme/web --expires 2027-03-31 --owner @ops",
        "secrets untrack NPM_TOKEN --repo acme/web",
        "secrets untrack NPM_TOKEN --repo acme/web",
    )

    warned = (
        "Channels subscribed to acme/web's alerts are warned 30, 7 and 1 days before it "
        "expires and on the day.\n"
    )
    assert output.getvalue() == (
        "Tracking NPM_TOKEN in acme/web\n"
        f"{warned}"
        "expires: 2026-12-28 (expires in 37 days)\n"
        "owner: @release-team\n"
        f"Rotate NPM_TOKEN: {ROTATE}\n"
        "\n"
        "Tracking of NPM_TOKEN in acme/web updated\n"
        "Its expiry date changed from 2026-12-28 to 2027-03-31; alerts start afresh for the "
        "new date.\n"
        f"{warned}"
        "expires: 2027-03-31 (expires in 130 days)\n"
        "owner: @release-team\n"
        f"Rotate NPM_TOKEN: {ROTATE}\n"
        "\n"
        "Tracking of NPM_TOKEN in acme/web updated\n"
        "Its expiry date stays 2027-03-31.\n"
        f"{warned}"
        "expires: 2027-03-31 (expires in 130 days)\n"
        "owner: @ops\n"
        f"Rotate NPM_TOKEN: {ROTATE}\n"
        "\n"
        "Stopped tracking NPM_TOKEN in acme/web\n"
        "The bot no longer knows when NPM_TOKEN expires and sends no more alerts about it.\n"
        "\n"
        "NPM_TOKEN in acme/web is not tracked\n"
        "Say `secrets track NPM_TOKEN --repo acme/web --expires YYYY-MM-DD` to track it.\n"
    )
    assert await SecretRegistry().for_repo(Forge.GITHUB, "acme/web") == []


async def test_the_channel_default_names_the_repository_and_ack_and_snooze_work(
    database: Database,
) -> None:
    output, clock = io.StringIO(), FakeClock(NOW)
    session = shell(database, output, clock, settings=SecretsSettings(thresholds_days=(14, 3)))
    await run(
        session,
        clock,
        "secrets track NPM_TOKEN --expires 2026-12-28",
        "use acme/web",
        "secrets track NPM_TOKEN --expires 30d",
        "secrets ack NPM_TOKEN",
        "secrets snooze NPM_TOKEN 3d",
        "secrets ack DEPLOY_KEY",
    )

    assert output.getvalue() == (
        "Wrong arguments for `secrets track`\n"
        "Which repository? Add `--repo OWNER/REPO`, or set this channel's default repository "
        "with `use OWNER/REPO`.\n"
        f"{TRACK_USAGE}"
        "\n"
        "Default repository: acme/web\n"
        "`status #12` in this channel now means acme/web#12.\n"
        "\n"
        "Tracking NPM_TOKEN in acme/web\n"
        "Channels subscribed to acme/web's alerts are warned 14 and 3 days before it expires.\n"
        "expires: 2026-12-21 (expires in 30 days)\n"
        "owner: not set\n"
        "\n"
        "Alerts for NPM_TOKEN in acme/web acknowledged\n"
        "No more alerts about its expiry on 2026-12-21.\n"
        "After rotating it, record the new date with `secrets track NPM_TOKEN --repo acme/web "
        "--expires YYYY-MM-DD`; alerts start again for that date.\n"
        "\n"
        "Alerts for NPM_TOKEN in acme/web snoozed until 2026-11-24 12:04 UTC\n"
        "Then the most urgent alert due is sent once; the ones that fell in the snooze are not "
        "sent late.\n"
        "Say `secrets ack NPM_TOKEN --repo acme/web` to stop alerts for its expiry on "
        "2026-12-21 altogether.\n"
        "\n"
        "DEPLOY_KEY in acme/web is not tracked\n"
        "Say `secrets track DEPLOY_KEY --repo acme/web --expires YYYY-MM-DD` to track it.\n"
    )
    tracked = await SecretRegistry().get(Forge.GITHUB, "acme/web", "NPM_TOKEN")
    assert tracked == Tracked(
        id=tracked.id if tracked else 0,
        forge=Forge.GITHUB,
        repo="acme/web",
        name="NPM_TOKEN",
        expires_on=date(2026, 12, 21),
        owner=None,
        rotate_url=None,
        source="command",
        set_by="operator",
        updated_at=NOW + timedelta(minutes=2),
        acked_expiry=date(2026, 12, 21),
        snoozed_until=NOW + timedelta(days=3, minutes=4),
    )


async def test_mistakes_get_usage_replies_and_a_past_date_a_warning(database: Database) -> None:
    output, clock = io.StringIO(), FakeClock(NOW)
    session = shell(database, output, clock)
    await run(
        session,
        clock,
        "secrets track npm-token --repo acme/web --expires 2026-12-28",
        "secrets track NPM_TOKEN --repo acme/web --expires next-week",
        "secrets track NPM_TOKEN --repo acme/web#12 --expires 2026-12-28",
        "secrets track NPM_TOKEN --repo acme/web --expires 2026-12-28 --rotate-url ftp://x",
        "secrets track OLD_KEY --repo acme/web --expires 2026-11-18",
        "secrets snooze OLD_KEY 3x --repo acme/web",
        "secrets snooze OLD_KEY 100d --repo acme/web",
    )

    assert output.getvalue() == (
        "Wrong arguments for `secrets track`\n"
        "NAME must be a secret's name (letters, digits and _), not 'npm-token'.\n"
        f"{TRACK_USAGE}"
        "\n"
        "Wrong arguments for `secrets track`\n"
        "DATE must be a date such as 2027-01-31, or 30d / 2w from today, not 'next-week'.\n"
        f"{TRACK_USAGE}"
        "\n"
        "Wrong arguments for `secrets track`\n"
        "--repo must be a repository, such as acme/web, not acme/web#12.\n"
        f"{TRACK_USAGE}"
        "\n"
        "Wrong arguments for `secrets track`\n"
        "--rotate-url must be an http(s) URL, not 'ftp://x'.\n"
        f"{TRACK_USAGE}"
        "\n"
        "Tracking OLD_KEY in acme/web\n"
        "That date is in the past: OLD_KEY expired 3 days ago.\n"
        "Channels subscribed to acme/web's alerts get one alert that it expired, on the next "
        "alert run.\n"
        "expires: 2026-11-18 (expired 3 days ago)\n"
        "owner: not set\n"
        "\n"
        "Wrong arguments for `secrets snooze`\n"
        "DURATION must be hours, days or weeks such as 12h, 3d or 1w, not '3x'.\n"
        f"{SNOOZE_USAGE}"
        "\n"
        "Wrong arguments for `secrets snooze`\n"
        "DURATION must be more than 0 and at most 90 days, not 100d.\n"
        f"{SNOOZE_USAGE}"
    )


async def test_a_reader_may_not_track_ack_or_snooze(database: Database) -> None:
    output, clock = io.StringIO(), FakeClock(NOW)
    session = shell(database, output, clock, user="visitor")
    await run(
        session,
        clock,
        "secrets track NPM_TOKEN --repo acme/web --expires 2026-12-28",
        "secrets ack NPM_TOKEN --repo acme/web",
        "secrets snooze NPM_TOKEN 1w --repo acme/web",
        "secrets untrack NPM_TOKEN --repo acme/web",
    )

    assert output.getvalue() == "\n".join(
        f"Permission denied\n`secrets {name}` needs write access; you have read.\n"
        for name in ("track", "ack", "snooze", "untrack")
    )


async def test_in_a_forge_thread_the_repository_is_the_thread_s(database: Database) -> None:
    clock = FakeClock(NOW)
    writer = PermissionGrant(level=Level.WRITE, platform="github", users=("1",))
    router = Router(
        builtin_commands(),
        authorizer=ConfigAuthorizer(PermissionsSettings(grants=(writer,))),
        services=Services(clock=clock, started_at=NOW, version="1"),
        handler_timeout=5.0,
        log=logging.getLogger("tests.secret_tracking"),
    )
    thread = Target("Acme/Web", TargetKind.PULL_REQUEST, 12, Forge.GITHUB)
    invocation = Invocation(
        id=uuid.uuid4().hex,
        platform=Platform.GITHUB,
        actor=Actor(platform=Platform.GITHUB, id="1", name="octocat"),
        text="secrets track DEPLOY_KEY --expires 1w --owner @octocat",
        reply_to=ReplyTarget(platform=Platform.GITHUB, channel="Acme/Web", thread="12"),
        delivery_key=uuid.uuid4().hex,
        received_at=NOW,
        target=thread,
    )

    outcome = await router.dispatch(invocation)

    assert outcome.reply == Reply(
        title="Tracking DEPLOY_KEY in acme/web",
        status=Status.OK,
        paragraphs=(
            "Channels subscribed to acme/web's alerts are warned 30, 7 and 1 days before it "
            "expires and on the day.",
        ),
        fields=(
            Field("expires", "2026-11-28 (expires in 7 days)"),
            Field("owner", "@octocat"),
        ),
    )
    tracked = await SecretRegistry().get(Forge.GITHUB, "acme/web", "DEPLOY_KEY")
    assert tracked is not None
    assert (tracked.expires_on, tracked.set_by, tracked.source) == (
        date(2026, 11, 28),
        "octocat",
        "command",
    )


def test_expiry_dates_and_durations_parse_or_say_why_not() -> None:
    today = date(2026, 11, 21)
    assert [parse_expiry(text, today) for text in ("2027-01-31", "30d", "2W", " 0d ")] == [
        date(2027, 1, 31),
        date(2026, 12, 21),
        date(2026, 12, 5),
        today,
    ]
    assert [parse_duration(text) for text in ("12h", "3d", "1w", "90d")] == [
        timedelta(hours=12),
        timedelta(days=3),
        timedelta(weeks=1),
        timedelta(days=90),
    ]
    for bad in ("2027-02-30", "tomorrow", "-3d", "3"):
        with pytest.raises(UsageError):
            parse_expiry(bad, today)
    for bad in ("0h", "91d", "13w", "3 days", ""):
        with pytest.raises(UsageError):
            parse_duration(bad)
