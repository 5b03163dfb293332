"""GitHub App mode: installation tokens, installations, and redelivery of failed deliveries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from bot.config import Secret
from bot.store.database import Database
from bot.store.leases import Leases
from bot.store.models import InboxItem, OutboxItem, OutboxStatus
from bot.store.state import StateStore
from connectors.github.auth import AppTokens, MissingInstallation
from connectors.github.installations import AppInstallations
from connectors.github.models import AppInstallation
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


@asynccontextmanager
async def app_tokens(
    github: FakeGitHub, private: str, clock: FakeClock
) -> AsyncIterator[AppTokens]:
    async with aiohttp.ClientSession() as session:
        yield AppTokens(
            session,
            base_url=github.url,
            app_id=APP_ID,
            private_key=private,
            requester="chatops-test",
            clock=clock,
        )


def real_time_clock() -> FakeClock:
    """App JWTs are signed with the real time, so the fake's clock starts there."""
    return FakeClock(datetime.now(UTC))


async def sent(count: int) -> bool:
    return await OutboxItem.filter(status=OutboxStatus.SENT).count() >= count


async def test_installation_tokens_are_minted_once_and_reused_until_near_expiry(
    database_url: str,
) -> None:
    private, public = app_key()
    clock = real_time_clock()
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
    clock = real_time_clock()
    async with FakeGitHub(clock=clock.now, app_id=APP_ID, app_public_key=public) as github:
        github.add_installation(INSTALLATION, "Codertocat", [REPO])
        async with app_tokens(github, private, clock) as tokens:
            got = await asyncio.gather(*(tokens.token(INSTALLATION) for _ in range(20)))

        assert len(set(got)) == 1
        assert github.tokens_minted == {INSTALLATION: 1}
        assert github.violations == []


async def test_installation_events_are_recorded(
    database_url: str,
) -> None:
    private, public = app_key()
    clock = real_time_clock()
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
    database: Database,
) -> None:
    private, public = app_key()
    clock = real_time_clock()
    async with FakeGitHub(clock=clock.now, app_id=APP_ID, app_public_key=public) as github:
        github.add_delivery(guid="old", event="issue_comment", status_code=502)
        async with app_tokens(github, private, clock) as tokens:
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
            await Leases().acquire(
                "github.redelivery", "replica-b", clock.now(), timedelta(minutes=5)
            )
            blocked = await redeliverer.run()

        assert first == RedeliveryResult(seen=1, redelivered=(), cursor=first.cursor)
        assert second == RedeliveryResult(seen=5, redelivered=(failed,), cursor=newest)
        assert third == RedeliveryResult(seen=0, redelivered=(), cursor=newest)
        assert blocked is None
        assert github.redeliveries == [failed]
        assert github.violations == []
        assert await InboxItem.all().count() == 0


async def test_an_unknown_repository_is_found_by_asking_github_once(database: Database) -> None:
    private, public = app_key()
    clock = real_time_clock()
    async with FakeGitHub(clock=clock.now, app_id=APP_ID, app_public_key=public) as github:
        github.add_installation(5, "acme", ["acme/web", "acme/api"])
        github.add_installation(6, "other", ["other/site"])
        async with app_tokens(github, private, clock) as tokens:
            installations = AppInstallations(tokens, clock)

            found = await installations.installation_for("Acme/API")
            again = await installations.installation_for("other/site")
            with pytest.raises(MissingInstallation) as missing:
                await installations.installation_for("nobody/here")

        assert (found, again) == (5, 6)
        assert str(missing.value) == "the GitHub App is not installed on nobody/here"
        assert len(github.calls_to("apps/list-installations")) == 1  # at most every 5 minutes
        assert await AppInstallation.all().order_by("installation_id").values_list(
            "installation_id", "repositories"
        ) == [(5, ["acme/api", "acme/web"]), (6, ["other/site"])]
