"""The secrets store on SQLite and PostgreSQL: the expiry registry, last uses, and claiming
expiry alerts exactly once (``bot.secrets.store``, ``bot.secrets.alert_store``)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime, timedelta

from bot.messages import Forge, Outgoing, Platform, Reply, ReplyTarget
from bot.secrets.alert_store import AlertKey, SecretAlerts
from bot.secrets.models import SecretAlert, SecretUse, TrackedSecret
from bot.secrets.store import SecretRegistry, SecretUses, Tracked, Use
from bot.store.database import Database
from bot.store.models import OutboxItem
from tests.fakes.clock import FakeClock

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
EXPIRY = date(2026, 12, 1)
C1 = ReplyTarget(platform=Platform.SLACK, channel="C1")
C2 = ReplyTarget(platform=Platform.DISCORD, channel="42")


async def track(
    registry: SecretRegistry,
    name: str = "NPM_TOKEN",
    *,
    repo: str = "Acme/Web",
    expires_on: date | None = EXPIRY,
    now: datetime = NOW,
    source: str = "command",
    owner: str | None = "@alice",
) -> tuple[Tracked, Tracked | None]:
    return await registry.track(
        Forge.GITHUB,
        repo,
        name,
        expires_on=expires_on,
        owner=owner,
        rotate_url="https://www.npmjs.com/settings/acme/tokens",
        source=source,
        set_by="alice",
        now=now,
    )


def tracked(row_id: int, **changes: object) -> Tracked:
    base = Tracked(
        id=row_id,
        forge=Forge.GITHUB,
        repo="acme/web",
        name="NPM_TOKEN",
        expires_on=EXPIRY,
        owner="@alice",
        rotate_url="https://www.npmjs.com/settings/acme/tokens",
        source="command",
        set_by="alice",
        updated_at=NOW,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# ---------------------------------------------------------------- the registry


async def test_track_inserts_then_updates_one_row_per_secret(database: Database) -> None:
    registry = SecretRegistry()
    first, before = await track(registry)
    later = NOW + timedelta(hours=1)
    second, previous = await track(registry, repo="ACME/WEB", owner="@bo", now=later)

    assert (first, before) == (tracked(first.id), None)
    assert (second, previous) == (tracked(first.id, owner="@bo", updated_at=later), first)
    assert await registry.get(Forge.GITHUB, "acme/WEB", "NPM_TOKEN") == second
    assert await registry.get(Forge.GITLAB, "acme/web", "NPM_TOKEN") is None
    assert await registry.get(Forge.GITHUB, "acme/web", "npm_token") is None  # names as given
    assert await TrackedSecret.all().count() == 1


async def test_a_new_expiry_date_clears_the_acknowledgement_and_the_snooze(
    database: Database,
) -> None:
    registry, alerts = SecretRegistry(), SecretAlerts()
    first, _ = await track(registry)
    await alerts.ack(Forge.GITHUB, "acme/web", "NPM_TOKEN")
    snoozed = await alerts.snooze(Forge.GITHUB, "acme/web", "NPM_TOKEN", NOW + timedelta(days=3))
    same_date, _ = await track(registry, owner="@bo")
    new_date, _ = await track(registry, expires_on=date(2027, 6, 1))

    held = tracked(first.id, acked_expiry=EXPIRY, snoozed_until=NOW + timedelta(days=3))
    assert snoozed == held
    assert same_date == dataclasses.replace(held, owner="@bo")
    assert new_date == tracked(first.id, owner="@alice", expires_on=date(2027, 6, 1))
    assert not new_date.acknowledged
    assert same_date.acknowledged


async def test_concurrent_tracks_of_a_new_secret_leave_one_row_and_none_fails(
    database: Database,
) -> None:
    registry = SecretRegistry()
    results = await asyncio.gather(*(track(registry, owner=f"@owner{index}") for index in range(6)))

    rows = await TrackedSecret.all()
    assert len(rows) == 1
    assert sorted(previous is None for _, previous in results) == [False] * 5 + [True]
    assert {result.id for result, _ in results} == {rows[0].id}
    assert rows[0].owner in {f"@owner{index}" for index in range(6)}


async def test_untrack_forgets_and_says_whether_there_was_anything(database: Database) -> None:
    registry = SecretRegistry()
    await track(registry)
    await track(registry, "DEPLOY_KEY")

    assert await registry.untrack(Forge.GITHUB, "ACME/web", "NPM_TOKEN") is True
    assert await registry.untrack(Forge.GITHUB, "acme/web", "NPM_TOKEN") is False
    assert [item.name for item in await registry.for_repo(Forge.GITHUB, "acme/web")] == [
        "DEPLOY_KEY"
    ]


async def test_for_repo_lists_one_repository_by_name(database: Database) -> None:
    registry = SecretRegistry()
    for name, repo in (("ZED", "acme/web"), ("ALPHA", "Acme/Web"), ("OTHER", "acme/api")):
        await track(registry, name, repo=repo)

    found = await registry.for_repo(Forge.GITHUB, "acme/web")

    assert [(item.repo, item.name) for item in found] == [
        ("acme/web", "ALPHA"),
        ("acme/web", "ZED"),
    ]


async def test_expiring_pages_by_id_through_every_secret_before_the_date(
    database: Database,
) -> None:
    registry = SecretRegistry()
    expected: list[str] = []
    for index in range(23):
        expires_on = None if index % 5 == 0 else date(2026, 12, 1) + timedelta(days=index % 4)
        name = f"SECRET_{index:02d}"
        await track(registry, name, expires_on=expires_on)
        if expires_on is not None and expires_on < date(2026, 12, 4):
            expected.append(name)

    pages: list[list[str]] = []
    after = 0
    for _ in range(10):  # bounded: 23 rows in pages of 4
        page = await registry.expiring(date(2026, 12, 4), after_id=after, limit=4)
        if not page:
            break
        pages.append([item.name for item in page])
        after = page[-1].id

    assert [name for page in pages for name in page] == expected
    assert [len(page) for page in pages] == [4, 4, 4, 2]
    assert len(expected) == 14


# ---------------------------------------------------------------- last uses


async def test_record_keeps_the_latest_use_and_never_moves_back_in_time(
    database: Database,
) -> None:
    uses = SecretUses()
    clock = FakeClock(NOW)

    async def record(used_by: str, hours: int) -> bool:
        return await uses.record(
            Forge.GITHUB,
            "Acme/Web",
            "NPM_TOKEN",
            used_by=used_by,
            url=f"https://ci.example/{used_by}",
            used_at=clock.now() + timedelta(hours=hours),
            source="api",
        )

    first = await record("deploy", 2)
    older = await record("nightly", 1)
    same = await record("again", 2)
    newer = await record("release", 3)

    use = Use(
        forge=Forge.GITHUB,
        repo="acme/web",
        name="NPM_TOKEN",
        used_by="release",
        url="https://ci.example/release",
        used_at=NOW + timedelta(hours=3),
        source="api",
    )
    assert (first, older, same, newer) == (True, False, False, True)
    assert await uses.for_repo(Forge.GITHUB, "ACME/WEB") == {"NPM_TOKEN": use}
    assert await uses.for_repos(Forge.GITHUB, ["acme/web", "acme/api"]) == [use]
    assert await uses.for_repos(Forge.GITHUB, []) == []


async def test_concurrent_reports_leave_one_row_with_the_latest_use(database: Database) -> None:
    uses = SecretUses()
    hours = [3, 1, 7, 5, 2, 6]
    recorded = await asyncio.gather(
        *(
            uses.record(
                Forge.GITLAB,
                "group/app",
                "DEPLOY_TOKEN",
                used_by=f"pipeline {hour}",
                url=None,
                used_at=NOW + timedelta(hours=hour),
                source="api",
            )
            for hour in hours
        )
    )

    rows = await SecretUse.all()
    assert [(row.used_by, row.used_at) for row in rows] == [
        ("pipeline 7", NOW + timedelta(hours=7))
    ]
    assert True in recorded


# ---------------------------------------------------------------- alerts


def alert_messages(alert_id: int) -> list[Outgoing]:
    reply = Reply(title=f"alert {alert_id}")
    return [
        Outgoing(target=C1, reply=reply, key=f"secret-alert:{alert_id}:sub:1"),
        Outgoing(target=C2, reply=reply, key=f"secret-alert:{alert_id}:sub:2"),
    ]


KEY = AlertKey(Forge.GITHUB, "acme/web", "NPM_TOKEN", EXPIRY)


async def alert_rows() -> list[tuple[str, str, str, int, date]]:
    rows = await SecretAlert.all().order_by("id")
    return [(row.forge, row.repo, row.name, row.threshold_days, row.expires_on) for row in rows]


async def test_a_claim_records_the_passed_thresholds_and_enqueues_once(
    database: Database,
) -> None:
    alerts = SecretAlerts()
    claimed = await alerts.claim(KEY, 7, [30], NOW, alert_messages)
    again = await alerts.claim(KEY, 7, [30], NOW + timedelta(days=1), alert_messages)
    later = await alerts.claim(KEY, 1, [30, 7], NOW + timedelta(days=6), alert_messages)

    assert claimed is not None
    assert later is not None
    assert again is None
    assert await alert_rows() == [
        ("github", "acme/web", "NPM_TOKEN", 30, EXPIRY),
        ("github", "acme/web", "NPM_TOKEN", 7, EXPIRY),
        ("github", "acme/web", "NPM_TOKEN", 1, EXPIRY),
    ]
    assert (await SecretAlert.get(id=claimed)).threshold_days == 7
    assert await OutboxItem.all().order_by("id").values_list("key", "platform") == [
        (f"secret-alert:{claimed}:sub:1", "slack"),
        (f"secret-alert:{claimed}:sub:2", "discord"),
        (f"secret-alert:{later}:sub:1", "slack"),
        (f"secret-alert:{later}:sub:2", "discord"),
    ]
    assert await alerts.thresholds(KEY) == [30, 7, 1]


async def test_a_new_expiry_date_is_a_new_alert(database: Database) -> None:
    alerts = SecretAlerts()
    rotated = dataclasses.replace(KEY, expires_on=date(2027, 6, 1))
    first = await alerts.claim(KEY, 7, [30], NOW, alert_messages)
    second = await alerts.claim(rotated, 7, [30], NOW, alert_messages)

    assert first is not None
    assert second is not None
    assert first != second
    assert await alerts.recorded([KEY, rotated]) == {
        KEY: frozenset({30, 7}),
        rotated: frozenset({30, 7}),
    }


async def test_concurrent_claims_of_one_alert_enqueue_one_set_of_messages(
    database: Database,
) -> None:
    alerts = SecretAlerts()
    claims = await asyncio.gather(
        *(alerts.claim(KEY, 7, [30], NOW, alert_messages) for _ in range(6))
    )

    winners = [claim for claim in claims if claim is not None]
    assert len(winners) == 1
    assert await alert_rows() == [
        ("github", "acme/web", "NPM_TOKEN", 30, EXPIRY),
        ("github", "acme/web", "NPM_TOKEN", 7, EXPIRY),
    ]
    assert [row.key for row in await OutboxItem.all().order_by("id")] == [
        f"secret-alert:{winners[0]}:sub:1",
        f"secret-alert:{winners[0]}:sub:2",
    ]


async def test_a_claim_whose_message_cannot_be_enqueued_records_nothing(
    database: Database,
) -> None:
    alerts = SecretAlerts()
    await seed_outbox_row("secret-alert:taken")

    def clashing(_alert_id: int) -> list[Outgoing]:
        return [Outgoing(target=C1, reply=Reply(title="x"), key="secret-alert:taken")]

    assert await alerts.claim(KEY, 7, [30], NOW, clashing) is None
    assert await alert_rows() == []


async def seed_outbox_row(key: str) -> None:
    """An outbox row put there directly, to make a key clash."""
    await OutboxItem.create(
        key=key,
        platform="slack",
        target=C1.to_dict(),
        reply=Reply(title="earlier").to_dict(),
        available_at=NOW,
        created_at=NOW,
    )


async def test_recorded_matches_exact_keys_within_a_page(database: Database) -> None:
    alerts = SecretAlerts()
    other_repo = dataclasses.replace(KEY, repo="acme/api", name="DEPLOY_KEY")
    crossed = dataclasses.replace(KEY, repo="acme/api")  # a name of one, repo of the other
    gitlab = dataclasses.replace(KEY, forge=Forge.GITLAB)
    await alerts.claim(KEY, 30, [], NOW, alert_messages)
    await alerts.claim(other_repo, 7, [30], NOW, alert_messages)
    await alerts.claim(gitlab, 0, [30, 7, 1], NOW, alert_messages)

    assert await alerts.recorded([KEY, other_repo, crossed]) == {
        KEY: frozenset({30}),
        other_repo: frozenset({30, 7}),
    }
    assert await alerts.recorded([]) == {}
    assert await alerts.thresholds(gitlab) == [30, 7, 1, 0]


async def test_ack_snooze_and_issue_change_only_a_tracked_secret(database: Database) -> None:
    registry, alerts = SecretRegistry(), SecretAlerts()
    first, _ = await track(registry)
    undated, _ = await track(registry, "NO_DATE", expires_on=None)

    acked = await alerts.ack(Forge.GITHUB, "Acme/Web", "NPM_TOKEN")
    not_dated = await alerts.ack(Forge.GITHUB, "acme/web", "NO_DATE")
    missing = await alerts.ack(Forge.GITHUB, "acme/web", "NOPE")
    snoozed = await alerts.snooze(Forge.GITHUB, "acme/web", "NOPE", NOW)
    issue = await alerts.set_issue(Forge.GITHUB, "acme/web", "NPM_TOKEN", 77)
    cleared = await alerts.set_issue(Forge.GITHUB, "acme/web", "NPM_TOKEN", None)

    assert acked == tracked(first.id, acked_expiry=EXPIRY)
    assert acked is not None
    assert acked.acknowledged
    assert not_dated == undated
    assert (missing, snoozed) == (None, None)
    assert issue == tracked(first.id, acked_expiry=EXPIRY, issue_number=77)
    assert cleared == tracked(first.id, acked_expiry=EXPIRY)
