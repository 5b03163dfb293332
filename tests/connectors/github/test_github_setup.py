"""``chatops github setup-repo``, per-hook secrets, and replies that survive a retry."""

from __future__ import annotations

import aiohttp
import pytest

from bot.config import Secret
from bot.messages import Outgoing, Platform, Reply, ReplyTarget, Status
from bot.pipeline.delivery import DeliveryError, RateLimited, Undeliverable
from bot.store.database import Database, open_database
from bot.store.models import InboxItem
from connectors.github.api import GitHubClient
from connectors.github.auth import StaticToken
from connectors.github.client import GitHubConnector
from connectors.github.errors import delivery_error
from connectors.github.hooks import HookSecrets
from connectors.github.installations import NoInstallations
from connectors.github.models import WebhookSecret
from connectors.github.setup import SetupError, SetupResult, setup_repo
from connectors.markdown import marker_comment
from tests.fakes.clock import FakeClock
from tests.fakes.github import FakeGitHub
from tests.github_stack import TOKEN, comment_payload, github_config, github_stack, migrate

REPO = "acme/web"


async def test_setup_repo_creates_then_rotates_one_hook_with_its_own_secret(
    database: Database,
) -> None:
    clock = FakeClock()
    async with FakeGitHub(clock=clock.now) as github, aiohttp.ClientSession() as session:
        github.add_token(TOKEN)
        config = github_config(database.url, github.url)

        created = await setup_repo(config, REPO, session, clock)
        first_secret = (await WebhookSecret.get(hook_id=str(created.hook_id))).secret
        updated = await setup_repo(config, REPO, session, clock)

        [hook] = github.webhooks(REPO)
        stored = await WebhookSecret.all().values("platform", "hook_id", "repo", "secret")
        url = "http://127.0.0.1:8080/webhooks/github"
        assert created == SetupResult(hook_id=hook.id, created=True, url=url)
        assert updated == SetupResult(hook_id=hook.id, created=False, url=url)
        assert stored == [
            {
                "platform": "github",
                "hook_id": str(hook.id),
                "repo": REPO,
                "secret": hook.config["secret"],
            }
        ]
        assert hook.config["secret"] != first_secret
        assert (hook.config["url"], hook.config["content_type"], hook.events) == (
            url,
            "json",
            ["issue_comment", "pull_request_review_comment", "workflow_run", "check_suite"],
        )
        assert github.pings == [(REPO, hook.id), (REPO, hook.id)]
        assert github.violations == []


async def test_setup_repo_explains_what_it_cannot_do(database: Database) -> None:
    clock = FakeClock()
    async with FakeGitHub(clock=clock.now) as github, aiohttp.ClientSession() as session:
        config = github_config(database.url, github.url)  # the fake does not know the token
        app_config = github_config(
            database.url,
            github.url,
            app_id=1,
            private_key=Secret("env:KEY", "pem"),
        )

        with pytest.raises(SetupError) as unauthorized:
            await setup_repo(config, REPO, session, clock)
        with pytest.raises(SetupError) as app_mode:
            await setup_repo(app_config, REPO, session, clock)
        with pytest.raises(SetupError) as malformed:
            await setup_repo(config, "acme", session, clock)

    assert str(unauthorized.value) == "GitHub answered 401: Bad credentials"
    assert str(app_mode.value) == (
        "setup-repo is for token mode; a GitHub App's webhook is set in the App's settings"
    )
    assert str(malformed.value) == "expected OWNER/REPO, got 'acme'"
    assert await WebhookSecret.all().count() == 0


async def test_a_hook_secret_signs_only_its_own_repository(database_url: str) -> None:
    await migrate(database_url)
    database = await open_database(database_url)
    await HookSecrets().store("77", "codertocat/hello-world", "hook secret", FakeClock().now())
    await database.close()
    async with github_stack(database_url, webhook_secrets=()) as stack:
        own = stack.comment("@chatops ping")
        other = comment_payload("@chatops ping")
        other["repository"]["full_name"] = "someone/else"
        hook = {"X-GitHub-Hook-ID": "77"}

        accepted = await stack.deliver("issue_comment", own, secret="hook secret", headers=hook)
        foreign = await stack.deliver("issue_comment", other, secret="hook secret", headers=hook)
        unknown = await stack.deliver(
            "issue_comment", own, secret="hook secret", headers={"X-GitHub-Hook-ID": "78"}
        )

        assert (accepted.status, await accepted.json()) == (202, {"accepted": 1, "duplicates": 0})
        assert (foreign.status, await foreign.json()) == (
            401,
            {"error": "the hook's secret does not cover this repository"},
        )
        assert (unknown.status, await unknown.json()) == (401, {"error": "invalid signature"})
        assert await InboxItem.all().count() == 1


def reply_target(number: int = 7, **hints: str) -> ReplyTarget:
    return ReplyTarget(
        platform=Platform.GITHUB,
        channel=REPO,
        thread=str(number),
        extra=tuple(hints.items()),
    )


async def test_a_retried_reply_edits_the_copy_an_interrupted_attempt_posted() -> None:
    async with FakeGitHub() as github, aiohttp.ClientSession() as session:
        github.add_token(TOKEN)
        client = GitHubClient(
            session,
            base_url=github.url,
            tokens=StaticToken(TOKEN),
            installations=NoInstallations(),
            requester="chatops-test",
        )
        connector = GitHubConnector(client, FakeClock(), frozenset({"chatops-bot"}))
        marker = marker_comment("reply:abc")
        github.seed_comment(REPO, 7, f"old\n\n{marker}", "chatops-bot")
        github.seed_comment(REPO, 7, f"pasted by someone\n\n{marker}", "mallory")
        reply = Reply(title="pong", status=Status.OK)

        await connector.send(Outgoing(reply_target(), reply, "reply:abc", attempt=2))
        await connector.send(Outgoing(reply_target(), reply, "reply:new", attempt=2))
        await connector.send(Outgoing(reply_target(sticky="summary"), reply, "summary:1"))
        await connector.send(Outgoing(reply_target(sticky="summary"), reply, "summary:2"))

        assert github.comments(REPO, 7) == [
            f"✅ **pong**\n\n{marker}",
            f"pasted by someone\n\n{marker}",
            f"✅ **pong**\n\n{marker_comment('reply:new')}",
            f"✅ **pong**\n\n{marker_comment('sticky:summary')}",
        ]
        operations = [call.operation_id for call in github.calls]
        assert operations.count("issues/update-comment") == 1  # the unchanged sticky is kept
        assert github.violations == []


@pytest.mark.parametrize(
    ("status", "headers", "message", "expected"),
    [
        (429, {"retry-after": "7"}, "slow down", RateLimited("GitHub answered 429: slow down", 7)),
        (
            403,
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1030"},
            "API rate limit exceeded",
            RateLimited("GitHub answered 403: API rate limit exceeded", 30),
        ),
        (
            403,
            {},
            "You have exceeded a secondary rate limit",
            RateLimited("GitHub answered 403: You have exceeded a secondary rate limit", 60),
        ),
        (
            403,
            {},
            "Resource not accessible",
            Undeliverable("GitHub answered 403: Resource not accessible"),
        ),
        (404, {}, "Not Found", Undeliverable("GitHub answered 404: Not Found")),
        (401, {}, "Bad credentials", DeliveryError("GitHub answered 401: Bad credentials")),
        (502, {}, "Bad Gateway", DeliveryError("GitHub answered 502: Bad Gateway")),
    ],
)
def test_api_failures_map_onto_retry_decisions(
    status: int, headers: dict[str, str], message: str, expected: DeliveryError
) -> None:
    import http

    import gidgethub

    exc_type = gidgethub.GitHubBroken if status >= 500 else gidgethub.BadRequest
    error = delivery_error(exc_type(http.HTTPStatus(status), message, headers=headers), 1000.0)

    assert (type(error), error.reason) == (type(expected), expected.reason)
    assert getattr(error, "retry_after", None) == getattr(expected, "retry_after", None)


def test_network_failures_are_retried() -> None:
    error = delivery_error(aiohttp.ClientConnectionError("refused"), 0.0)
    assert (type(error), error.reason) == (
        DeliveryError,
        "GitHub unreachable: ClientConnectionError",
    )


async def test_permission_levels_are_cached_for_the_ttl_then_asked_again() -> None:
    from datetime import timedelta

    from bot.messages import Actor, Forge, Level, Target, TargetKind
    from connectors.github.permissions import GitHubAuthorizer

    clock = FakeClock()
    async with FakeGitHub(clock=clock.now) as github, aiohttp.ClientSession() as session:
        github.add_token(TOKEN)
        client = GitHubClient(
            session,
            base_url=github.url,
            tokens=StaticToken(TOKEN),
            installations=NoInstallations(),
            requester="chatops-test",
        )
        authorizer = GitHubAuthorizer(client, clock, timedelta(seconds=60))
        octocat = Actor(platform=Platform.GITHUB, id="octocat", name="octocat")
        pull = Target(repo=REPO, kind=TargetKind.PULL_REQUEST, number=1, forge=Forge.GITHUB)
        gitlab = Target(repo=REPO, forge=Forge.GITLAB)
        github.set_permission(REPO, "octocat", "admin")

        levels = [await authorizer.level_for(octocat, pull)]
        github.set_permission(REPO, "octocat", "read")
        levels.append(await authorizer.level_for(octocat, pull))
        clock.advance(61)
        levels.append(await authorizer.level_for(octocat, pull))
        levels.append(await authorizer.level_for(octocat, gitlab))
        levels.append(await authorizer.level_for(octocat, None))

        assert levels == [Level.ADMIN, Level.ADMIN, Level.READ, Level.READ, Level.READ]
        assert len(github.calls_to("repos/get-collaborator-permission-level")) == 2
