"""The fake GitHub, driven by the real gidgethub client over real HTTP.

Each test compares whole responses or records, checks what it got against the OpenAPI
response schemas (``conforms``), and asserts ``violations``: empty when the client kept the
contract, exactly the expected lines when it did not.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import gidgethub
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gidgethub.aiohttp import GitHubAPI
from gidgethub.apps import get_installation_access_token

from tests.fakes.clock import FakeClock
from tests.fakes.github import Call, FakeGitHub
from tests.fakes.github_state import Reaction, Rerun

APP_ID = "31337"
TOKEN = "ghp_test_token"
REPO = "acme/widgets"
SHA = "a" * 40
FIXTURES = Path(__file__).parents[1] / "fixtures" / "github"


@pytest.fixture(scope="module")
def app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture
def clock() -> FakeClock:
    """Starts at the real time: gidgethub stamps App JWTs with the real clock."""
    return FakeClock(start=datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def github(app_key: rsa.RSAPrivateKey, clock: FakeClock) -> AsyncIterator[FakeGitHub]:
    async with FakeGitHub(
        app_id=APP_ID, app_public_key=public_pem(app_key), clock=clock.now, token_lifetime=3600
    ) as fake:
        fake.add_token(TOKEN)
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def api(session: aiohttp.ClientSession, github: FakeGitHub) -> GitHubAPI:
    return GitHubAPI(session, "chatops-test", oauth_token=TOKEN, base_url=github.url)


@pytest.fixture
def app_api(
    session: aiohttp.ClientSession, github: FakeGitHub, app_key: rsa.RSAPrivateKey
) -> GitHubAPI:
    return GitHubAPI(
        session,
        "chatops-test",
        app_id=APP_ID,
        private_key=private_pem(app_key),
        base_url=github.url,
    )


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def conforms(github: FakeGitHub, operation_id: str, status: int, body: Any) -> None:
    assert github.contract.response_problems(operation_id, status, body) == []


def user(github: FakeGitHub, login: str, user_id: int, *, bot: bool = False) -> dict[str, Any]:
    """A user object written out field by field, as GitHub's simple-user."""
    url = f"{github.url}/users/{login}"
    kind = "Bot" if bot else "User"
    return {
        "login": login,
        "id": user_id,
        "node_id": node(kind, user_id),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": url,
        "html_url": f"https://github.com/apps/{login[:-5]}"
        if bot
        else f"https://github.com/{login}",
        "followers_url": f"{url}/followers",
        "following_url": f"{url}/following{{/other_user}}",
        "gists_url": f"{url}/gists{{/gist_id}}",
        "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{url}/subscriptions",
        "organizations_url": f"{url}/orgs",
        "repos_url": f"{url}/repos",
        "events_url": f"{url}/events{{/privacy}}",
        "received_events_url": f"{url}/received_events",
        "type": kind,
        "site_admin": False,
    }


def node(kind: str, number: int) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


def crc(name: str) -> int:
    return zlib.crc32(name.encode())


def comment(
    github: FakeGitHub,
    comment_id: int,
    body: str,
    author: dict[str, Any],
    at: datetime,
    *,
    updated: datetime | None = None,
    association: str = "NONE",
    number: int = 7,
) -> dict[str, Any]:
    return {
        "id": comment_id,
        "node_id": node("IssueComment", comment_id),
        "url": f"{github.url}/repos/{REPO}/issues/comments/{comment_id}",
        "html_url": f"https://github.com/{REPO}/issues/{number}#issuecomment-{comment_id}",
        "body": body,
        "user": author,
        "created_at": stamp(at),
        "updated_at": stamp(updated or at),
        "issue_url": f"{github.url}/repos/{REPO}/issues/{number}",
        "author_association": association,
    }


def app_jwt(key: rsa.RSAPrivateKey, *, issued: int, lifetime: int, iss: str = APP_ID) -> str:
    return jwt.encode(
        {"iat": issued, "exp": issued + lifetime, "iss": iss}, private_pem(key), algorithm="RS256"
    )


# The contract


async def test_unknown_route_answers_404_and_is_a_violation(
    api: GitHubAPI, github: FakeGitHub
) -> None:
    with pytest.raises(gidgethub.BadRequest) as unknown:
        await api.getitem(f"/repos/{REPO}/issues/7/labels")
    with pytest.raises(gidgethub.BadRequest) as mistyped:
        await api.getitem(f"/repos/{REPO}/issues/seven/comments")

    assert (unknown.value.status_code, str(unknown.value)) == (404, "Not Found")
    assert (mistyped.value.status_code, str(mistyped.value)) == (404, "Not Found")
    assert github.violations == [
        f"GET /repos/{REPO}/issues/7/labels: no such operation in the contract",
        f"GET /repos/{REPO}/issues/seven/comments: no such operation in the contract",
    ]
    assert github.calls[0] == Call(
        method="GET",
        path=f"/repos/{REPO}/issues/7/labels",
        operation_id=None,
        query={},
        json=None,
        auth_scheme="token",
        user_agent="chatops-test",
        status=404,
    )


async def test_body_missing_a_required_field_answers_422_and_is_a_violation(
    api: GitHubAPI, github: FakeGitHub
) -> None:
    with pytest.raises(gidgethub.InvalidField) as missing:
        await api.post(f"/repos/{REPO}/issues/7/comments", data={"text": "hello"})

    assert missing.value.status_code == 422
    assert missing.value.errors == [
        {"field": "body", "code": "missing_field", "message": "missing required field 'body'"}
    ]
    assert github.violations == [
        f"POST /repos/{REPO}/issues/7/comments: missing required field 'body'"
    ]
    assert github.comments(REPO, 7) == []
    assert github.calls_to("issues/create-comment")[0].json == {"text": "hello"}


async def test_wrong_field_types_and_values_are_violations(
    api: GitHubAPI, github: FakeGitHub
) -> None:
    comment_id = github.seed_comment(REPO, 7, "hi", "alice")

    with pytest.raises(gidgethub.InvalidField):
        await api.post(f"/repos/{REPO}/issues/7/comments", data={"body": 5})
    with pytest.raises(gidgethub.InvalidField):
        await api.post(
            f"/repos/{REPO}/issues/comments/{comment_id}/reactions", data={"content": "thumbsup"}
        )
    with pytest.raises(gidgethub.InvalidField):
        await api.post(f"/repos/{REPO}/hooks", data={"config": {}, "secret": "s"})

    allowed = ["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"]
    assert github.violations == [
        f"POST /repos/{REPO}/issues/7/comments: field 'body' must be of type string, got int",
        f"POST /repos/{REPO}/issues/comments/{comment_id}/reactions: field 'content' must be"
        f" one of {allowed}, got 'thumbsup'",
        f"POST /repos/{REPO}/hooks: unknown field 'secret'",
    ]


async def test_operation_without_behaviour_answers_501_and_is_a_violation(
    api: GitHubAPI, github: FakeGitHub
) -> None:
    with pytest.raises(gidgethub.GitHubBroken) as broken:
        await api.getitem(f"/repos/{REPO}/commits/{SHA}/statuses")

    operation = "repos/list-commit-statuses-for-ref"
    assert (broken.value.status_code, str(broken.value)) == (
        501,
        f"no fake behaviour for {operation}",
    )
    assert github.violations == [
        f"GET /repos/{REPO}/commits/{SHA}/statuses: no fake behaviour for {operation}"
    ]


async def test_scripting_unknown_operations_is_refused(github: FakeGitHub) -> None:
    with pytest.raises(ValueError, match="the contract has no operation 'issues/create-coment'"):
        github.fail_next("issues/create-coment", 500)


# Auth


async def test_unknown_token_gets_bad_credentials(
    session: aiohttp.ClientSession, github: FakeGitHub
) -> None:
    stranger = GitHubAPI(session, "chatops-test", oauth_token="ghp_nope", base_url=github.url)

    with pytest.raises(gidgethub.BadRequest) as refused:
        await stranger.getitem(f"/repos/{REPO}/issues/comments/1")

    assert (refused.value.status_code, str(refused.value)) == (401, "Bad credentials")
    assert github.violations == []


async def test_missing_credentials_are_a_violation(
    session: aiohttp.ClientSession, github: FakeGitHub
) -> None:
    anonymous = GitHubAPI(session, "chatops-test", base_url=github.url)

    with pytest.raises(gidgethub.BadRequest) as refused:
        await anonymous.getitem(f"/repos/{REPO}/pulls/1")

    assert (refused.value.status_code, str(refused.value)) == (401, "Requires authentication")
    assert github.violations == [f"GET /repos/{REPO}/pulls/1: no token in Authorization"]


async def test_app_jwt_minted_by_gidgethub_is_accepted(
    app_api: GitHubAPI, github: FakeGitHub, clock: FakeClock
) -> None:
    app = await app_api.getitem("/app")

    bot = user(github, "chatops-bot", crc("chatops-bot"))
    assert app == {
        "id": int(APP_ID),
        "slug": "chatops-bridge",
        "client_id": "Iv1.chatops-bridge",
        "node_id": node("Integration", int(APP_ID)),
        "owner": bot,
        "name": "chatops-bridge",
        "description": "",
        "external_url": "https://github.com/apps/chatops-bridge",
        "html_url": "https://github.com/apps/chatops-bridge",
        "created_at": "2026-01-02T03:04:05Z",
        "updated_at": "2026-01-02T03:04:05Z",
        "permissions": {
            "actions": "write",
            "checks": "write",
            "contents": "read",
            "issues": "write",
            "metadata": "read",
            "pull_requests": "write",
            "statuses": "read",
        },
        "events": [
            "issue_comment",
            "pull_request",
            "pull_request_review_comment",
            "check_run",
            "workflow_run",
        ],
        "installations_count": 0,
    }
    conforms(github, "apps/get-authenticated", 200, app)
    assert github.calls[0].auth_scheme == "bearer"
    assert github.violations == []


async def test_the_apps_grants_and_webhook_are_what_was_set(
    app_api: GitHubAPI, github: FakeGitHub
) -> None:
    unset = await app_api.getitem("/app/hook/config")
    github.set_app(permissions={"metadata": "read"}, events=["issue_comment"])
    github.set_app_webhook("https://bot.example.com/webhooks/github", secret="s3cret")
    app = await app_api.getitem("/app")
    config = await app_api.getitem("/app/hook/config")

    assert unset == {"content_type": "json", "insecure_ssl": "0", "url": ""}
    assert (app["permissions"], app["events"]) == ({"metadata": "read"}, ["issue_comment"])
    assert config == {
        "url": "https://bot.example.com/webhooks/github",
        "content_type": "json",
        "insecure_ssl": "0",
        "secret": "********",
    }
    conforms(github, "apps/get-webhook-config-for-app", 200, config)
    assert github.violations == []


@pytest.mark.parametrize(
    ("lifetime", "issued_offset", "iss", "wrong_key", "message", "violation"),
    [
        (
            1200,
            -60,
            APP_ID,
            False,
            "'Expiration time' claim ('exp') is too far in the future",
            "App JWT rejected: lifetime exp - iat = 1200s exceeds 600s",
        ),
        (
            600,
            -60,
            APP_ID,
            True,
            "A JSON web token could not be decoded",
            "App JWT rejected: invalid JWT (Signature verification failed)",
        ),
        (
            600,
            -700,
            APP_ID,
            False,
            "'Expiration time' claim ('exp') must be a numeric value in the future",
            "App JWT rejected: the JWT has expired",
        ),
        (
            300,
            120,
            APP_ID,
            False,
            "'Issued at' claim ('iat') must be an Integer representing the time",
            "App JWT rejected: iat {iat} is in the future",
        ),
        (
            600,
            -60,
            "999",
            False,
            "Integration not found",
            "App JWT rejected: iss '999' is not the App id",
        ),
    ],
    ids=["too-long", "wrong-key", "expired", "future-iat", "other-app"],
)
async def test_bad_app_jwts_are_rejected(
    session: aiohttp.ClientSession,
    github: FakeGitHub,
    app_key: rsa.RSAPrivateKey,
    clock: FakeClock,
    lifetime: int,
    issued_offset: int,
    iss: str,
    wrong_key: bool,
    message: str,
    violation: str,
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if wrong_key else app_key
    issued = int(clock.now().timestamp()) + issued_offset
    api = GitHubAPI(session, "chatops-test", base_url=github.url)

    with pytest.raises(gidgethub.BadRequest) as refused:
        await api.getitem("/app", jwt=app_jwt(key, issued=issued, lifetime=lifetime, iss=iss))

    assert (refused.value.status_code, str(refused.value)) == (401, message)
    assert github.violations == [f"GET /app: {violation.format(iat=issued)}"]


async def test_app_endpoints_refuse_tokens_and_other_endpoints_refuse_app_jwts(
    api: GitHubAPI, app_api: GitHubAPI, github: FakeGitHub
) -> None:
    with pytest.raises(gidgethub.BadRequest) as token_on_app:
        await api.getitem("/app/installations")
    with pytest.raises(gidgethub.BadRequest) as jwt_on_repo:
        await app_api.getitem(f"/repos/{REPO}/pulls/1")

    assert token_on_app.value.status_code == jwt_on_repo.value.status_code == 401
    assert github.violations == [
        "GET /app/installations: needs an App JWT (Bearer)",
        f"GET /repos/{REPO}/pulls/1: an App JWT cannot call this; use a token",
    ]


async def test_installation_token_is_minted_then_usable_within_its_repositories(
    session: aiohttp.ClientSession,
    app_api: GitHubAPI,
    github: FakeGitHub,
    app_key: rsa.RSAPrivateKey,
    clock: FakeClock,
) -> None:
    github.add_installation(42, "acme", ["widgets", "acme/gadgets"])

    installations = await app_api.getitem("/app/installations")
    minted = await get_installation_access_token(
        app_api, installation_id="42", app_id=APP_ID, private_key=private_pem(app_key)
    )
    as_app = GitHubAPI(session, "chatops-test", oauth_token=minted["token"], base_url=github.url)
    created = await as_app.post(f"/repos/{REPO}/issues/7/comments", data={"body": "on it"})
    repos = await as_app.getitem("/installation/repositories")
    with pytest.raises(gidgethub.BadRequest) as elsewhere:
        await as_app.getitem("/repos/other/repo/pulls/1")

    assert [i["id"] for i in installations] == [42]
    conforms(github, "apps/list-installations", 200, installations)
    assert minted == {
        "token": "ghs_fake_42_1",
        "expires_at": stamp(clock.now() + timedelta(seconds=3600)),
        "permissions": {
            "actions": "write",
            "checks": "write",
            "issues": "write",
            "metadata": "read",
            "pull_requests": "write",
        },
        "repository_selection": "all",
    }
    conforms(github, "apps/create-installation-access-token", 201, minted)
    bot = user(github, "chatops-bridge[bot]", crc("chatops-bridge[bot]"), bot=True)
    assert created == comment(github, 1, "on it", bot, clock.now())
    assert [r["full_name"] for r in repos["repositories"]] == ["acme/widgets", "acme/gadgets"]
    assert (repos["total_count"], repos["repository_selection"]) == (2, "selected")
    conforms(github, "apps/list-repos-accessible-to-installation", 200, repos)
    assert elsewhere.value.status_code == 404
    assert github.tokens_minted == {42: 1}
    assert github.violations == [
        "GET /repos/other/repo/pulls/1: installation 42's token cannot reach other/repo"
    ]


async def test_expired_installation_token_is_refused(
    session: aiohttp.ClientSession,
    app_key: rsa.RSAPrivateKey,
    clock: FakeClock,
) -> None:
    async with FakeGitHub(
        app_id=APP_ID, app_public_key=public_pem(app_key), clock=clock.now, token_lifetime=60
    ) as short:
        short.add_installation(42, "acme", ["widgets"])
        app_api = GitHubAPI(
            session,
            "chatops-test",
            app_id=APP_ID,
            private_key=private_pem(app_key),
            base_url=short.url,
        )
        minted = await app_api.post("/app/installations/42/access_tokens", data={})
        as_app = GitHubAPI(session, "chatops-test", oauth_token=minted["token"], base_url=short.url)
        await as_app.post(f"/repos/{REPO}/issues/7/comments", data={"body": "fresh"})
        clock.advance(60)
        with pytest.raises(gidgethub.BadRequest) as refused:
            await as_app.post(f"/repos/{REPO}/issues/7/comments", data={"body": "stale"})

        assert minted["expires_at"] == stamp(clock.now())
        assert (refused.value.status_code, str(refused.value)) == (401, "Bad credentials")
        assert short.comments(REPO, 7) == ["fresh"]
        assert short.violations == []


# Comments


async def test_comments_are_created_listed_across_pages_updated_and_deleted(
    api: GitHubAPI, github: FakeGitHub, session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    github.set_permission(REPO, "alice", "write")
    human = github.seed_comment(REPO, 7, "/ci rerun", "alice")
    created = [
        await api.post(f"/repos/{REPO}/issues/{{number}}/comments", {"number": 7}, data={"body": b})
        for b in ("one", "two", "three", "four")
    ]
    listed = [c async for c in api.getiter(f"/repos/{REPO}/issues/7/comments?per_page=2")]
    async with session.get(
        f"{github.url}/repos/{REPO}/issues/7/comments?per_page=2&page=2",
        headers={"Authorization": f"token {TOKEN}"},
    ) as raw:
        link = raw.headers["Link"]
    clock.advance(5)
    updated = await api.patch(f"/repos/{REPO}/issues/comments/3", data={"body": "two, edited"})
    fetched = await api.getitem(f"/repos/{REPO}/issues/comments/3")
    await api.delete(f"/repos/{REPO}/issues/comments/{human}")

    bot = user(github, "chatops-bot", crc("chatops-bot"))
    alice = user(github, "alice", crc("alice"))
    start = clock.now() - timedelta(seconds=5)
    assert created[0] == comment(github, 2, "one", bot, start)
    assert listed == [
        comment(github, 1, "/ci rerun", alice, start, association="COLLABORATOR"),
        *(comment(github, i, b, bot, start) for i, b in [(2, "one"), (3, "two"), (4, "three")]),
        comment(github, 5, "four", bot, start),
    ]
    conforms(github, "issues/list-comments", 200, listed)
    base = f"{github.url}/repos/{REPO}/issues/7/comments?per_page=2&page="
    assert link == ", ".join(
        [
            f'<{base}1>; rel="prev"',
            f'<{base}3>; rel="next"',
            f'<{base}3>; rel="last"',
            f'<{base}1>; rel="first"',
        ]
    )
    assert [c.query for c in github.calls_to("issues/list-comments")] == [
        {"per_page": "2"},
        {"per_page": "2", "page": "2"},
        {"per_page": "2", "page": "3"},
        {"per_page": "2", "page": "2"},
    ]
    assert updated == fetched == comment(github, 3, "two, edited", bot, start, updated=clock.now())
    conforms(github, "issues/update-comment", 200, updated)
    assert github.comments(REPO, 7) == ["one", "two, edited", "three", "four"]
    assert [c.status for c in github.calls_to("issues/delete-comment")] == [204]
    assert github.violations == []


async def test_missing_comment_is_404_without_violation(api: GitHubAPI, github: FakeGitHub) -> None:
    with pytest.raises(gidgethub.BadRequest) as missing:
        await api.patch(f"/repos/{REPO}/issues/comments/99", data={"body": "x"})

    assert (missing.value.status_code, str(missing.value)) == (404, "Not Found")
    assert github.violations == []


async def test_review_comment_replies_join_the_pull_thread(
    api: GitHubAPI, github: FakeGitHub, clock: FakeClock
) -> None:
    github.add_pull(REPO, 9, SHA, "feature", "alice")
    root = github.seed_review_comment(REPO, 9, "why?", "alice", path="src/app.py")
    first = await api.post(f"/repos/{REPO}/pulls/9/comments/{root}/replies", data={"body": "ack"})
    second = await api.post(
        f"/repos/{REPO}/pulls/9/comments/{first['id']}/replies", data={"body": "done"}
    )
    with pytest.raises(gidgethub.BadRequest) as wrong_pull:
        await api.post(f"/repos/{REPO}/pulls/8/comments/{root}/replies", data={"body": "x"})

    url = f"{github.url}/repos/{REPO}/pulls/comments/2"
    html = f"https://github.com/{REPO}/pull/9#discussion_r2"
    assert first == {
        "url": url,
        "pull_request_review_id": 2,
        "id": 2,
        "node_id": node("PullRequestReviewComment", 2),
        "diff_hunk": "@@ -1 +1 @@",
        "path": "src/app.py",
        "commit_id": "0" * 40,
        "original_commit_id": "0" * 40,
        "user": user(github, "chatops-bot", crc("chatops-bot")),
        "body": "ack",
        "created_at": stamp(clock.now()),
        "updated_at": stamp(clock.now()),
        "html_url": html,
        "pull_request_url": f"{github.url}/repos/{REPO}/pulls/9",
        "author_association": "NONE",
        "_links": {
            "self": {"href": url},
            "html": {"href": html},
            "pull_request": {"href": f"{github.url}/repos/{REPO}/pulls/9"},
        },
        "in_reply_to_id": root,
    }
    conforms(github, "pulls/create-reply-for-review-comment", 201, first)
    assert second["in_reply_to_id"] == root
    assert wrong_pull.value.status_code == 404
    assert github.comments(REPO, 9) == ["why?", "ack", "done"]
    assert github.violations == []


# Reactions


async def test_reactions_are_201_when_new_and_200_when_repeated(
    api: GitHubAPI, github: FakeGitHub, clock: FakeClock
) -> None:
    comment_id = github.seed_comment(REPO, 7, "/deploy", "alice")
    review_id = github.seed_review_comment(REPO, 9, "nit", "alice")
    url = f"/repos/{REPO}/issues/comments/{comment_id}/reactions"

    first = await api.post(url, data={"content": "eyes"})
    again = await api.post(url, data={"content": "eyes"})
    other = await api.post(url, data={"content": "rocket"})
    await api.post(f"/repos/{REPO}/pulls/comments/{review_id}/reactions", data={"content": "+1"})
    await api.post(f"/repos/{REPO}/issues/7/reactions", data={"content": "heart"})
    with pytest.raises(gidgethub.BadRequest) as on_review_id:
        await api.post(
            f"/repos/{REPO}/issues/comments/{review_id}/reactions", data={"content": "+1"}
        )

    assert (
        first
        == again
        == {
            "id": 1,
            "node_id": node("Reaction", 1),
            "user": user(github, "chatops-bot", crc("chatops-bot")),
            "content": "eyes",
            "created_at": stamp(clock.now()),
        }
    )
    conforms(github, "reactions/create-for-issue-comment", 201, first)
    assert other["id"] == 2
    assert [c.status for c in github.calls_to("reactions/create-for-issue-comment")] == [
        201,
        200,
        201,
        404,
    ]
    assert github.reactions == [
        Reaction(REPO, "issue_comment", comment_id, "eyes", "chatops-bot"),
        Reaction(REPO, "issue_comment", comment_id, "rocket", "chatops-bot"),
        Reaction(REPO, "pull_request_review_comment", review_id, "+1", "chatops-bot"),
        Reaction(REPO, "issue", 7, "heart", "chatops-bot"),
    ]
    assert on_review_id.value.status_code == 404
    assert github.violations == []


# Permissions


@pytest.mark.parametrize(
    ("level", "permission", "flags"),
    [
        ("admin", "admin", (True, True, True, True, True)),
        ("maintain", "write", (True, True, True, True, False)),
        ("write", "write", (True, True, True, False, False)),
        ("triage", "read", (True, True, False, False, False)),
        ("read", "read", (True, False, False, False, False)),
        ("none", "none", (False, False, False, False, False)),
    ],
)
async def test_permission_levels_follow_githubs_legacy_mapping(
    api: GitHubAPI, github: FakeGitHub, level: str, permission: str, flags: tuple[bool, ...]
) -> None:
    github.set_permission(REPO, "alice", level)

    answer = await api.getitem(f"/repos/{REPO}/collaborators/alice/permission")

    assert answer == {
        "permission": permission,
        "role_name": level,
        "user": {
            **user(github, "alice", crc("alice")),
            "permissions": dict(
                zip(("pull", "triage", "push", "maintain", "admin"), flags, strict=True)
            ),
            "role_name": level,
        },
    }
    conforms(github, "repos/get-collaborator-permission-level", 200, answer)
    assert github.violations == []


async def test_permission_of_an_unknown_user_is_404(api: GitHubAPI, github: FakeGitHub) -> None:
    with pytest.raises(gidgethub.BadRequest) as unknown:
        await api.getitem(f"/repos/{REPO}/collaborators/ghost/permission")

    assert (unknown.value.status_code, str(unknown.value)) == (404, "ghost is not a user")
    assert github.violations == []


# Scripted failures and latency


async def test_scripted_failures_replace_the_next_calls_then_stop(
    api: GitHubAPI, github: FakeGitHub
) -> None:
    reset = str(int(time.time()) + 60)
    github.fail_next("issues/create-comment", 429, headers={"retry-after": "2"})
    github.fail_next(
        "issues/create-comment",
        403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
        body={"message": "API rate limit exceeded"},
    )
    github.fail_next("issues/create-comment", 502, times=2)
    url = f"/repos/{REPO}/issues/7/comments"

    with pytest.raises(gidgethub.BadRequest) as throttled:
        await api.post(url, data={"body": "x"})
    with pytest.raises(gidgethub.RateLimitExceeded) as exhausted:
        await api.post(url, data={"body": "x"})
    with pytest.raises(gidgethub.GitHubBroken) as bad_gateway:
        await api.post(url, data={"body": "x"})
    with pytest.raises(gidgethub.GitHubBroken):
        await api.post(url, data={"body": "x"})
    await api.post(url, data={"body": "finally"})

    assert (throttled.value.status_code, str(throttled.value)) == (429, "Too Many Requests")
    assert throttled.value.headers["retry-after"] == "2"
    assert (exhausted.value.status_code, str(exhausted.value)) == (403, "API rate limit exceeded")
    assert exhausted.value.rate_limit.remaining == 0
    assert str(int(exhausted.value.rate_limit.reset_datetime.timestamp())) == reset
    assert (bad_gateway.value.status_code, str(bad_gateway.value)) == (502, "Bad Gateway")
    assert [c.status for c in github.calls_to("issues/create-comment")] == [429, 403, 502, 502, 201]
    assert github.comments(REPO, 7) == ["finally"]
    assert github.violations == []


async def test_delay_slows_one_operation(api: GitHubAPI, github: FakeGitHub) -> None:
    github.delay("issues/create-comment", 0.2)

    started = time.monotonic()
    await api.post(f"/repos/{REPO}/issues/7/comments", data={"body": "slow"})
    slow = time.monotonic() - started
    started = time.monotonic()
    await api.getitem("/rate_limit")
    fast = time.monotonic() - started

    assert slow >= 0.2 > fast


async def test_every_response_carries_rate_limit_headers(
    api: GitHubAPI, github: FakeGitHub, session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    limits = await api.getitem("/rate_limit")
    async with session.get(
        f"{github.url}/repos/{REPO}/nope", headers={"Authorization": f"token {TOKEN}"}
    ) as response:
        headers = {k.lower(): v for k, v in response.headers.items()}

    reset = int(clock.now().timestamp()) + 3600
    core = {"limit": 5000, "used": 0, "remaining": 5000, "reset": reset}
    assert limits == {
        "resources": {
            "core": core,
            "search": {"limit": 30, "used": 0, "remaining": 30, "reset": reset},
        },
        "rate": core,
    }
    conforms(github, "rate-limit/get", 200, limits)
    assert {k: v for k, v in headers.items() if k.startswith("x-ratelimit")} == {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "4998",
        "x-ratelimit-reset": str(reset),
        "x-ratelimit-used": "2",
        "x-ratelimit-resource": "core",
    }


# Webhooks and deliveries


async def test_webhooks_are_created_updated_and_pinged_without_showing_secrets(
    api: GitHubAPI, github: FakeGitHub, clock: FakeClock
) -> None:
    created = await api.post(
        f"/repos/{REPO}/hooks",
        data={
            "name": "web",
            "config": {"url": "https://bot.example/gh", "content_type": "json", "secret": "s3"},
            "events": ["issue_comment", "pull_request"],
        },
    )
    clock.advance(10)
    updated = await api.patch(
        f"/repos/{REPO}/hooks/1",
        data={
            "config": {"url": "https://bot.example/v2", "content_type": "json"},
            "add_events": ["push"],
        },
    )
    listed = await api.getitem(f"/repos/{REPO}/hooks")
    await api.post(f"/repos/{REPO}/hooks/1/pings", data=b"")

    url = f"{github.url}/repos/{REPO}/hooks/1"
    hook = {
        "type": "Repository",
        "id": 1,
        "name": "web",
        "active": True,
        "events": ["issue_comment", "pull_request"],
        "config": {
            "content_type": "json",
            "insecure_ssl": "0",
            "url": "https://bot.example/gh",
            "secret": "********",
        },
        "updated_at": stamp(clock.now() - timedelta(seconds=10)),
        "created_at": stamp(clock.now() - timedelta(seconds=10)),
        "url": url,
        "test_url": f"{url}/test",
        "ping_url": f"{url}/pings",
        "deliveries_url": f"{url}/deliveries",
        "last_response": {"code": None, "status": "unused", "message": None},
    }
    assert created == hook
    conforms(github, "repos/create-webhook", 201, created)
    assert (
        updated
        == listed[0]
        == {
            **hook,
            "events": ["issue_comment", "pull_request", "push"],
            "config": {
                "content_type": "json",
                "insecure_ssl": "0",
                "url": "https://bot.example/v2",
            },
            "updated_at": stamp(clock.now()),
        }
    )
    assert [h.config for h in github.webhooks(REPO)] == [
        {"content_type": "json", "insecure_ssl": "0", "url": "https://bot.example/v2"}
    ]
    assert github.pings == [(REPO, 1)]
    assert github.violations == []


async def test_app_deliveries_page_by_cursor_newest_first_and_redeliver(
    app_api: GitHubAPI, github: FakeGitHub, clock: FakeClock
) -> None:
    start = clock.now() - timedelta(hours=1)
    ids = [
        github.add_delivery(
            guid=f"guid-{n}",
            event="issue_comment",
            action="created",
            status_code=500 if n % 2 else 200,
            delivered_at=start + timedelta(minutes=n),
            installation_id=42,
        )
        for n in range(5)
    ]

    newest_first = [d["id"] async for d in app_api.getiter("/app/hook/deliveries?per_page=2")]
    failed = await app_api.getitem("/app/hook/deliveries?status=failure")
    detail = await app_api.getitem(f"/app/hook/deliveries/{ids[1]}")
    accepted = await app_api.post(f"/app/hook/deliveries/{ids[1]}/attempts", data=b"")

    assert newest_first == ids[::-1]
    assert [c.query for c in github.calls_to("apps/list-webhook-deliveries")] == [
        {"per_page": "2"},
        {"per_page": "2", "cursor": f"v1_{ids[2]}"},
        {"per_page": "2", "cursor": f"v1_{ids[0]}"},
        {"status": "failure"},
    ]
    assert [d["guid"] for d in failed] == ["guid-3", "guid-1"]
    conforms(github, "apps/list-webhook-deliveries", 200, failed)
    assert detail == {
        "id": ids[1],
        "guid": "guid-1",
        "delivered_at": stamp(start + timedelta(minutes=1)),
        "redelivery": False,
        "duration": 0.1,
        "status": "Invalid HTTP Response",
        "status_code": 500,
        "event": "issue_comment",
        "action": "created",
        "installation_id": 42,
        "repository_id": None,
        "throttled_at": None,
        "url": "https://chatops.example/webhooks/github",
        "request": {
            "headers": {
                "X-GitHub-Delivery": "guid-1",
                "X-GitHub-Event": "issue_comment",
                "content-type": "application/json",
            },
            "payload": {},
        },
        "response": {"headers": {}, "payload": None},
    }
    conforms(github, "apps/get-webhook-delivery", 200, detail)
    assert accepted == {}
    assert [c.status for c in github.calls_to("apps/redeliver-webhook-delivery")] == [202]
    assert github.redeliveries == [ids[1]]
    assert github.violations == []


# Pulls and CI


async def test_pull_checks_statuses_and_workflow_runs_round_trip(
    api: GitHubAPI, github: FakeGitHub
) -> None:
    github.add_pull(REPO, 9, SHA, "feature", "alice")
    github.add_check_run(REPO, SHA, "lint", conclusion="failure")
    latest_lint = github.add_check_run(REPO, SHA, "lint")
    tests_run = github.add_check_run(REPO, SHA, "tests", status="in_progress")
    github.add_status(REPO, SHA, "ci/legacy", "pending")
    github.add_status(REPO, SHA, "ci/legacy", "success", description="ok")
    workflow = github.add_workflow(REPO, "CI", ".github/workflows/ci.yml")
    failed = github.add_workflow_run(
        REPO, workflow, SHA, "feature", event="pull_request", conclusion="failure"
    )
    running = github.add_workflow_run(
        REPO, workflow, SHA, "feature", event="pull_request", status="in_progress"
    )
    github.add_workflow_run(REPO, workflow, "b" * 40, "main")
    github.add_job(failed, "build")
    broken_job = github.add_job(failed, "test", conclusion="failure")

    pull = await api.getitem(f"/repos/{REPO}/pulls/9")
    checks = await api.getitem(f"/repos/{REPO}/commits/feature/check-runs")
    combined = await api.getitem(f"/repos/{REPO}/commits/{SHA}/status")
    runs = await api.getitem(f"/repos/{REPO}/actions/runs?head_sha={SHA}&event=pull_request")
    failures = await api.getitem(f"/repos/{REPO}/actions/runs?status=failure")
    jobs = await api.getitem(f"/repos/{REPO}/actions/runs/{failed}/jobs")
    workflows = await api.getitem(f"/repos/{REPO}/actions/workflows")
    await api.post(f"/repos/{REPO}/actions/runs/{failed}/rerun-failed-jobs", data=b"")
    await api.post(f"/repos/{REPO}/actions/runs/{running}/cancel", data=b"")
    with pytest.raises(gidgethub.BadRequest) as cancel_completed:
        await api.post(f"/repos/{REPO}/actions/runs/{running}/cancel", data=b"")
    await api.post(
        f"/repos/{REPO}/actions/workflows/ci.yml/dispatches",
        data={"ref": "main", "inputs": {"target": "staging"}},
    )
    rerun = await api.getitem(f"/repos/{REPO}/actions/runs/{failed}")
    rerun_jobs = await api.getitem(f"/repos/{REPO}/actions/runs/{failed}/jobs")

    assert {k: pull[k] for k in ("number", "state", "title", "merged")} == {
        "number": 9,
        "state": "open",
        "title": "Pull request 9",
        "merged": False,
    }
    assert (pull["head"]["sha"], pull["head"]["ref"], pull["head"]["repo"]["full_name"]) == (
        SHA,
        "feature",
        REPO,
    )
    assert pull["user"] == user(github, "alice", crc("alice"))
    conforms(github, "pulls/get", 200, pull)
    assert [(c["id"], c["name"], c["status"], c["conclusion"]) for c in checks["check_runs"]] == [
        (tests_run, "tests", "in_progress", None),
        (latest_lint, "lint", "completed", "success"),
    ]
    assert checks["total_count"] == 2
    assert checks["check_runs"][0]["pull_requests"][0]["number"] == 9
    conforms(github, "checks/list-for-ref", 200, checks)
    assert (combined["state"], combined["total_count"], combined["sha"]) == ("success", 1, SHA)
    assert [(s["context"], s["state"], s["description"]) for s in combined["statuses"]] == [
        ("ci/legacy", "success", "ok")
    ]
    conforms(github, "repos/get-combined-status-for-ref", 200, combined)
    assert [r["id"] for r in runs["workflow_runs"]] == [running, failed]
    assert [r["id"] for r in failures["workflow_runs"]] == [failed]
    conforms(github, "actions/list-workflow-runs-for-repo", 200, runs)
    assert [(j["name"], j["conclusion"]) for j in jobs["jobs"]] == [
        ("build", "success"),
        ("test", "failure"),
    ]
    conforms(github, "actions/list-jobs-for-workflow-run", 200, jobs)
    assert [(w["id"], w["name"], w["path"]) for w in workflows["workflows"]] == [
        (workflow, "CI", ".github/workflows/ci.yml")
    ]
    conforms(github, "actions/list-repo-workflows", 200, workflows)
    assert (rerun["status"], rerun["conclusion"], rerun["run_attempt"]) == ("queued", None, 2)
    conforms(github, "actions/get-workflow-run", 200, rerun)
    assert [(j["id"], j["status"]) for j in rerun_jobs["jobs"]] == [
        (broken_job - 1, "completed"),
        (broken_job, "queued"),
    ]
    assert github.reruns == [Rerun(REPO, failed, failed_only=True)]
    assert github.workflow_run(running).conclusion == "cancelled"
    assert github.cancellations == [(REPO, running)]
    assert (cancel_completed.value.status_code, str(cancel_completed.value)) == (
        409,
        "Cannot cancel a workflow run that is completed.",
    )
    assert [(d.repo, d.workflow, d.ref, d.inputs) for d in github.dispatches] == [
        (REPO, "ci.yml", "main", {"target": "staging"})
    ]
    assert [c.status for c in github.calls_to("actions/create-workflow-dispatch")] == [204]
    assert github.violations == []


async def test_refs_with_slashes_arrive_percent_encoded_and_resolve(
    api: GitHubAPI, github: FakeGitHub
) -> None:
    github.add_pull(REPO, 9, SHA, "feat/x", "alice")
    github.add_check_run(REPO, SHA, "lint")

    checks = await api.getitem(f"/repos/{REPO}/commits/{{ref}}/check-runs", {"ref": "feat/x"})

    assert [(c["name"], c["head_sha"]) for c in checks["check_runs"]] == [("lint", SHA)]
    assert github.calls[0].path == f"/repos/{REPO}/commits/feat%2Fx/check-runs"
    assert github.violations == []


# Fixtures shipped with the fake


def test_webhook_fixtures_listed_in_provenance_are_present_and_json() -> None:
    provenance = (FIXTURES / "webhooks" / "PROVENANCE.md").read_text(encoding="utf-8")
    listed = sorted(re.findall(r"^\| `([^`]+\.json)` \|", provenance, flags=re.MULTILINE))
    present = sorted(p.name for p in (FIXTURES / "webhooks").glob("*.json"))

    assert listed == present
    assert all(
        isinstance(json.loads((FIXTURES / "webhooks" / n).read_bytes()), dict) for n in present
    )


# Repositories, dispatch details, and runs that start and finish


async def test_a_repository_exists_once_seeded_or_added(api: GitHubAPI, github: FakeGitHub) -> None:
    github.add_pull(REPO, 9, SHA, "feature", "alice")
    github.add_workflow("acme/actions", "CI", ".github/workflows/ci.yml")
    github.add_installation(3, "acme", ["installed"])
    github.add_repo("acme/secret", private=True)
    await api.post(
        "/repos/acme/hooked/hooks", data={"config": {"url": "https://chatops.example/hook"}}
    )

    found = {
        repo: await api.getitem(f"/repos/{repo}")
        for repo in (REPO, "acme/actions", "acme/installed", "acme/hooked", "acme/secret")
    }
    with pytest.raises(gidgethub.BadRequest) as missing:
        await api.getitem("/repos/acme/nothing")

    assert {repo: (r["full_name"], r["private"], r["visibility"]) for repo, r in found.items()} == {
        REPO: (REPO, False, "public"),
        "acme/actions": ("acme/actions", False, "public"),
        "acme/installed": ("acme/installed", False, "public"),
        "acme/hooked": ("acme/hooked", False, "public"),
        "acme/secret": ("acme/secret", True, "private"),
    }
    for repository in found.values():
        conforms(github, "repos/get", 200, repository)
    assert (missing.value.status_code, str(missing.value)) == (404, "Not Found")
    assert github.violations == []


async def test_a_merged_pull_is_closed_and_says_so(api: GitHubAPI, github: FakeGitHub) -> None:
    github.add_pull(REPO, 9, SHA, "feature", "alice", merged=True)

    pull = await api.getitem(f"/repos/{REPO}/pulls/9")

    assert {k: pull[k] for k in ("state", "merged", "merged_at", "closed_at")} == {
        "state": "closed",
        "merged": True,
        "merged_at": stamp(github.world.clock()),
        "closed_at": stamp(github.world.clock()),
    }
    conforms(github, "pulls/get", 200, pull)
    assert github.violations == []


async def test_dispatch_runs_on_the_resolved_ref_as_the_caller(
    session: aiohttp.ClientSession, github: FakeGitHub
) -> None:
    github.add_token("ghp_alice", "alice")
    alice = GitHubAPI(session, "chatops-test", oauth_token="ghp_alice", base_url=github.url)
    github.add_pull(REPO, 9, SHA, "feat/x", "alice")
    github.add_workflow(REPO, "CI", ".github/workflows/ci.yml")
    url = f"/repos/{REPO}/actions/workflows/ci.yml/dispatches"

    answers = [
        await alice.post(url, data={"ref": ref, "return_run_details": True})
        for ref in ("feat/x", "refs/heads/feat/x", "b" * 40, "release")
    ]
    runs = [
        await alice.getitem(f"/repos/{REPO}/actions/runs/{a['workflow_run_id']}") for a in answers
    ]

    release_sha = hashlib.sha1(f"{REPO}:release".encode()).hexdigest()  # stable per branch
    assert [(r["head_branch"], r["head_sha"], r["event"], r["actor"]["login"]) for r in runs] == [
        ("feat/x", SHA, "workflow_dispatch", "alice"),
        ("feat/x", SHA, "workflow_dispatch", "alice"),
        ("b" * 40, "b" * 40, "workflow_dispatch", "alice"),
        ("release", release_sha, "workflow_dispatch", "alice"),
    ]
    assert answers[0] == {
        "workflow_run_id": runs[0]["id"],
        "run_url": f"{github.url}/repos/{REPO}/actions/runs/{runs[0]['id']}",
        "html_url": f"https://github.com/{REPO}/actions/runs/{runs[0]['id']}",
    }
    for answer in answers:
        conforms(github, "actions/create-workflow-dispatch", 200, answer)
    assert github.violations == []


async def test_runs_start_and_finish_with_their_jobs(
    api: GitHubAPI, github: FakeGitHub, clock: FakeClock
) -> None:
    workflow = github.add_workflow(REPO, "CI", ".github/workflows/ci.yml")
    run = github.add_workflow_run(REPO, workflow, SHA, "feature", status="queued")
    github.add_job(run, "build", status="queued", conclusion=None)
    github.add_job(run, "test", status="queued", conclusion=None)
    created = clock.now()

    clock.advance(10)
    github.start_workflow_run(run)
    started = await api.getitem(f"/repos/{REPO}/actions/runs/{run}")
    started_jobs = await api.getitem(f"/repos/{REPO}/actions/runs/{run}/jobs")
    clock.advance(50)
    github.finish_workflow_run(run, "failure", jobs={"test": "failure", "lint": "success"})
    finished = await api.getitem(f"/repos/{REPO}/actions/runs/{run}")
    finished_jobs = await api.getitem(f"/repos/{REPO}/actions/runs/{run}/jobs")
    clock.advance(5)
    await api.post(f"/repos/{REPO}/actions/runs/{run}/rerun", data=b"")
    rerun = await api.getitem(f"/repos/{REPO}/actions/runs/{run}")

    def summary(r: dict[str, Any]) -> tuple[Any, ...]:
        keys = ("status", "conclusion", "run_attempt", "run_started_at", "updated_at")
        return tuple(r[k] for k in keys)

    assert summary(started) == (
        "in_progress",
        None,
        1,
        stamp(created),
        stamp(created + timedelta(seconds=10)),
    )
    assert [(j["name"], j["status"], j["conclusion"]) for j in started_jobs["jobs"]] == [
        ("build", "in_progress", None),
        ("test", "in_progress", None),
    ]
    assert summary(finished) == (
        "completed",
        "failure",
        1,
        stamp(created),
        stamp(created + timedelta(seconds=60)),
    )
    assert [
        (j["name"], j["status"], j["conclusion"], j["completed_at"]) for j in finished_jobs["jobs"]
    ] == [
        ("build", "completed", "failure", stamp(created + timedelta(seconds=60))),
        ("test", "completed", "failure", stamp(created + timedelta(seconds=60))),
        ("lint", "completed", "success", stamp(created + timedelta(seconds=60))),
    ]
    assert summary(rerun) == (
        "queued",
        None,
        2,
        stamp(created + timedelta(seconds=65)),
        stamp(created + timedelta(seconds=65)),
    )
    for body in (started, finished, rerun):
        conforms(github, "actions/get-workflow-run", 200, body)
    for jobs in (started_jobs, finished_jobs):
        conforms(github, "actions/list-jobs-for-workflow-run", 200, jobs)
    assert github.violations == []
