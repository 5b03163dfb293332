"""GitHub App mode: installation tokens, installations, and redelivery of failed deliveries."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.config import Secret
from bot.store.leases import Leases
from bot.store.models import AppInstallation, InboxItem, OutboxItem, OutboxStatus
from bot.store.state import StateStore
from connectors.github.auth import AppTokens
from connectors.github.recovery import Redeliverer, RedeliveryResult
from tests.fakes.clock import FakeClock
from tests.fakes.github import FakeGitHub
from tests.fakes.waiting import wait_until
from tests.github_stack import APP_ID, INSTALLATION, app_key, example, github_stack

REPO = "Codertocat/Hello-World"


def app_fake(clock: FakeClock, public: bytes, *, token_lifetime: int = 3600) -> FakeGitHub:
    return FakeGitHub(
        clock=clock.now,
        app_id=APP_ID,
        app_public_key=public,
        app_slug="chatops-bridge",
        token_lifetime=token_lifetime,
    )


def app_settings(private: str) -> dict[str, object]:
    return {
        "app_id": APP_ID,
        "private_key": Secret("file:github-app.pem", private),
        "redeliver_failed": False,
    }


async def sent(count: int) -> bool:
    return await OutboxItem.filter(status=OutboxStatus.SENT).count() >= count


async def test_installation_tokens_are_minted_once_and_reused_until_near_expiry(
    database_url: str,
) -> None:
    private, public = app_key()
    clock = FakeClock(datetime.now(UTC))  # App JWTs are signed with the real time
    fake = app_fake(clock, public, token_lifetime=120)
    async with github_stack(database_url, fake=fake, clock=clock, **app_settings(private)) as stack:
        stack.github.add_installation(INSTALLATION, "Codertocat", [REPO])
        for _ in range(3):
            await stack.deliver("issue_comment", stack.comment("@chatops ping"))
        await wait_until(lambda: sent(6))
        assert stack.github.tokens_minted == {INSTALLATION: 1}

        clock.advance(61)  # the token now expires within a minute: refresh it
        await stack.deliver("issue_comment", stack.comment("@chatops ping"))
        await wait_until(lambda: sent(8))

        assert stack.github.tokens_minted == {INSTALLATION: 2}
        replies = [c for c in stack.github.world.thread(REPO, 1) if c.author.endswith("[bot]")]
        assert [c.author for c in replies] == ["chatops-bridge[bot]"] * 4
        assert stack.github.violations == []


async def test_concurrent_requests_share_one_token_refresh(database_url: str) -> None:
    private, public = app_key()
    clock = FakeClock(datetime.now(UTC))  # App JWTs are signed with the real time
    async with FakeGitHub(clock=clock.now, app_id=APP_ID, app_public_key=public) as github:
        github.add_installation(INSTALLATION, "Codertocat", [REPO])
        import aiohttp

        async with aiohttp.ClientSession() as session:
            tokens = AppTokens(
                session,
                base_url=github.url,
                app_id=APP_ID,
                private_key=private,
                requester="chatops-test",
                clock=clock,
            )
            import asyncio

            got = await asyncio.gather(*(tokens.token(INSTALLATION) for _ in range(20)))

        assert len(set(got)) == 1
        assert github.tokens_minted == {INSTALLATION: 1}
        assert github.violations == []


async def test_installation_events_are_recorded_and_used_for_other_repositories(
    database_url: str,
) -> None:
    private, public = app_key()
    clock = FakeClock(datetime.now(UTC))  # App JWTs are signed with the real time
    fake = app_fake(clock, public)
    async with github_stack(database_url, fake=fake, clock=clock, **app_settings(private)) as stack:
        created = await stack.deliver("installation", example("installation.created.json"))
        added = await stack.deliver(
            "installation_repositories", example("installation_repositories.added.json")
        )

        assert [created.status, added.status] == [202, 202]
        rows = await AppInstallation.all().values(
            "platform", "installation_id", "account", "repositories", "active"
        )
        assert rows == [
            {
                "platform": "github",
                "installation_id": 957387,
                "account": "Codertocat",
                "repositories": ["codertocat/hello-world", "codertocat/space"],
                "active": True,
            }
        ]
        deleted = example("installation.deleted.json")
        deleted["installation"]["id"] = 957387
        await stack.deliver("installation", deleted)
        row = await AppInstallation.get(installation_id=957387)
        assert row.active is False


async def test_redelivery_sets_a_cursor_then_redelivers_only_failed_originals(
    database_url: str, database: object
) -> None:
    private, public = app_key()
    clock = FakeClock(datetime.now(UTC))  # App JWTs are signed with the real time
    async with FakeGitHub(clock=clock.now, app_id=APP_ID, app_public_key=public) as github:
        github.add_delivery(guid="old", event="issue_comment", status_code=502)
        import aiohttp

        async with aiohttp.ClientSession() as session:
            tokens = AppTokens(
                session,
                base_url=github.url,
                app_id=APP_ID,
                private_key=private,
                requester="chatops-test",
                clock=clock,
            )
            redeliverer = Redeliverer(
                tokens=tokens,
                state=StateStore(),
                leases=Leases(),
                clock=clock,
                holder="replica-a",
                log=logging.getLogger("test"),
            )
            first = await redeliverer.run()
            failed = github.add_delivery(guid="a", event="issue_comment", status_code=502)
            github.add_delivery(guid="b", event="issue_comment", status_code=202)
            github.add_delivery(guid="c", event="issue_comment", status_code=0)
            github.add_delivery(guid="c", event="issue_comment", status_code=202, redelivery=True)
            newest = github.add_delivery(
                guid="d", event="issue_comment", status_code=500, redelivery=True
            )
            second = await redeliverer.run()
            third = await redeliverer.run()
            await Leases().acquire("github.redelivery", "replica-b", clock.now(), _minutes(5))
            blocked = await redeliverer.run()

        assert first == RedeliveryResult(seen=1, redelivered=(), cursor=first.cursor)
        assert second == RedeliveryResult(seen=5, redelivered=(failed,), cursor=newest)
        assert third == RedeliveryResult(seen=0, redelivered=(), cursor=newest)
        assert blocked is None
        assert github.redeliveries == [failed]
        assert github.violations == []
        assert await InboxItem.all().count() == 0


def _minutes(n: int):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    return timedelta(minutes=n)
