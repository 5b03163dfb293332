"""The GitLab sender against a fake GitLab: notes, marker-tagged retries, sticky notes,
award emoji, and how failures map onto the outbox's retry decisions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus

import aiohttp
import pytest

from bot.messages import Outgoing, OutgoingKind, Platform, Reply, ReplyTarget, Status
from bot.pipeline.delivery import DeliveryError, RateLimited, RetryLater, Undeliverable
from connectors.gitlab.api import GitLabApi
from connectors.gitlab.client import GitLabConnector
from connectors.markdown import marker_comment
from tests.fakes.clock import FakeClock
from tests.fakes.gitlab import FakeGitLab, User

TOKEN = "glpat-connector-tests"
PROJECT = "group/sub/project"
MR = "merge_requests/7"


@dataclass
class Setup:
    gitlab: FakeGitLab
    connector: GitLabConnector
    clock: FakeClock
    alice: User


@asynccontextmanager
async def connected() -> AsyncIterator[Setup]:
    clock = FakeClock()
    async with FakeGitLab(token=TOKEN, clock=clock.now) as gitlab, aiohttp.ClientSession() as s:
        gitlab.add_project(PROJECT, project_id=42)
        alice = gitlab.add_user("alice")
        api = GitLabApi(s, base_url=gitlab.url, token=TOKEN, requester="tests")
        connector = GitLabConnector(api, clock, frozenset({"chatops-bot"}))
        yield Setup(gitlab, connector, clock, alice)


def target(
    *, thread: str = MR, message: str | None = None, sticky: str | None = None
) -> ReplyTarget:
    extra = (("sticky", sticky),) if sticky else (("quote", "@chatops ping"),)
    return ReplyTarget(
        platform=Platform.GITLAB, channel=PROJECT, thread=thread, message=message, extra=extra
    )


def message(
    title: str = "pong", *, key: str = "reply:abc", attempt: int = 1, sticky: str | None = None
) -> Outgoing:
    return Outgoing(
        target=target(sticky=sticky),
        reply=Reply(title=title, status=Status.OK),
        key=key,
        attempt=attempt,
    )


def acknowledgement(note_id: int, attempt: int = 1) -> Outgoing:
    return Outgoing(
        target=target(message=str(note_id)),
        reply=Reply(title=""),
        key="ack:abc",
        kind=OutgoingKind.ACKNOWLEDGEMENT,
        attempt=attempt,
    )


def reply_body(title: str = "pong", marker: str = "reply:abc") -> str:
    return f"> @&#8203;chatops ping\n\n✅ **{title}**\n\n{marker_comment(marker)}"


async def test_a_reply_is_one_note_quoting_the_command_with_its_marker() -> None:
    async with connected() as setup:
        await setup.connector.send(message())

        assert setup.gitlab.note_bodies(PROJECT, MR) == [reply_body()]
        [note] = setup.gitlab.notes(PROJECT, MR)
        assert note.author == setup.gitlab.bot
        [call] = setup.gitlab.calls_matching("POST", f"/api/v4/projects/{PROJECT}/{MR}/notes")
        assert (call.path, call.json, call.auth, call.status) == (
            "/api/v4/projects/group%2Fsub%2Fproject/merge_requests/7/notes",
            {"body": reply_body()},
            "bearer",
            201,
        )


async def test_a_retry_finds_the_note_an_earlier_attempt_posted_and_edits_it() -> None:
    async with connected() as setup:
        await setup.connector.send(message("pong"))
        await setup.connector.send(message("pong", attempt=2))
        await setup.connector.send(message("pong, edited", attempt=3))

        assert setup.gitlab.note_bodies(PROJECT, MR) == [reply_body("pong, edited")]
        edits = setup.gitlab.calls_matching("PUT", f"/api/v4/projects/{PROJECT}/{MR}/notes/*")
        assert [call.json for call in edits] == [{"body": reply_body("pong, edited")}]


async def test_a_marker_pasted_by_someone_else_is_never_edited() -> None:
    async with connected() as setup:
        pasted = f"look: {marker_comment('reply:abc')}"
        setup.gitlab.seed_note(PROJECT, MR, pasted, setup.alice)

        await setup.connector.send(message(attempt=2))

        assert setup.gitlab.note_bodies(PROJECT, MR) == [pasted, reply_body()]


async def test_a_sticky_note_is_posted_once_then_edited_in_place() -> None:
    async with connected() as setup:
        await setup.connector.send(message("CI running", key="k1", sticky="ci"))
        await setup.connector.send(message("CI passed", key="k2", sticky="ci"))
        await setup.connector.send(message("CI passed", key="k3", sticky="ci"))

        sticky = f"✅ **CI passed**\n\n{marker_comment('sticky:ci')}"
        assert setup.gitlab.note_bodies(PROJECT, MR) == [sticky]
        edits = setup.gitlab.calls_matching("PUT", f"/api/v4/projects/{PROJECT}/{MR}/notes/*")
        assert len(edits) == 1  # the third send found the same body and changed nothing


async def test_notes_are_found_across_pages() -> None:
    async with connected() as setup:
        await setup.connector.send(message(sticky="ci", key="k1"))
        for index in range(120):
            setup.gitlab.seed_note(PROJECT, MR, f"chatter {index}", setup.alice)

        await setup.connector.send(message("CI passed", sticky="ci", key="k2"))

        bodies = setup.gitlab.note_bodies(PROJECT, MR)
        assert (len(bodies), bodies[0]) == (
            121,
            f"✅ **CI passed**\n\n{marker_comment('sticky:ci')}",
        )


async def test_the_acknowledgement_is_one_eyes_award_even_when_retried() -> None:
    async with connected() as setup:
        note = setup.gitlab.seed_note(PROJECT, MR, "@chatops ping", setup.alice)

        await setup.connector.send(acknowledgement(note.id))
        await setup.connector.send(acknowledgement(note.id, attempt=2))  # finds it: no POST
        await setup.connector.send(acknowledgement(note.id))  # GitLab: already taken

        assert [(a.note_id, a.name, a.user) for a in setup.gitlab.awards] == [
            (note.id, "eyes", setup.gitlab.bot)
        ]
        posts = setup.gitlab.calls_matching(
            "POST", f"/api/v4/projects/{PROJECT}/{MR}/notes/{note.id}/award_emoji"
        )
        assert [call.status for call in posts] == [201, 404]


async def test_an_acknowledgement_without_a_note_does_nothing() -> None:
    async with connected() as setup:
        await setup.connector.send(
            Outgoing(
                target=target(),
                reply=Reply(title=""),
                key="ack:x",
                kind=OutgoingKind.ACKNOWLEDGEMENT,
            )
        )
        assert setup.gitlab.calls == []


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (
            429,
            {"Retry-After": "30"},
            RateLimited("GitLab answered 429: 429 Too Many Requests", 30.0),
        ),
        (
            429,
            {"RateLimit-Remaining": "0", "RateLimit-Reset": "OFFSET:90"},
            RateLimited("GitLab answered 429: 429 Too Many Requests", 90.0),
        ),
        (429, {}, RateLimited("GitLab answered 429: 429 Too Many Requests", 60.0)),
        (502, {}, DeliveryError("GitLab answered 502: 502 Bad Gateway")),
        (
            401,
            {},
            Undeliverable(
                "GitLab refused the bot's token (401: 401 Unauthorized); check gitlab.token"
            ),
        ),
        (404, {}, Undeliverable("GitLab answered 404: 404 Not Found")),
        (403, {}, Undeliverable("GitLab answered 403: 403 Forbidden")),
        (422, {}, Undeliverable("GitLab answered 422: 422 Unprocessable Entity")),
    ],
)
async def test_failures_map_onto_retry_decisions(
    status: int, headers: dict[str, str], expected: DeliveryError
) -> None:
    async with connected() as setup:
        now = int(setup.clock.now().timestamp())
        headers = {
            name: str(now + int(value.partition(":")[2])) if value.startswith("OFFSET:") else value
            for name, value in headers.items()
        }
        body: dict[str, object] = {"message": f"{status} {HTTPStatus(status).phrase}"}
        if status == 422:
            body["errors"] = []  # gidgetlab reads the fields of a 422 from ``errors``
        setup.gitlab.fail_next("POST *", status, headers=headers, body=body)

        with pytest.raises(DeliveryError) as raised:
            await setup.connector.send(message())

        assert _described(raised.value) == _described(expected)
        assert setup.gitlab.note_bodies(PROJECT, MR) == []


async def test_an_unreachable_gitlab_is_retried() -> None:
    clock = FakeClock()
    async with aiohttp.ClientSession() as session:
        api = GitLabApi(session, base_url="http://127.0.0.1:9", token=TOKEN, requester="tests")
        connector = GitLabConnector(api, clock, frozenset({"chatops-bot"}))
        with pytest.raises(DeliveryError) as raised:
            await connector.send(message())
    assert _described(raised.value) == (
        "DeliveryError",
        "GitLab unreachable: ClientConnectorError",
        None,
    )


async def test_a_target_that_is_not_a_thread_is_undeliverable() -> None:
    async with connected() as setup:
        bad = Outgoing(target=target(thread="pipelines/3"), reply=Reply(title="x"), key="k")
        with pytest.raises(Undeliverable) as raised:
            await setup.connector.send(bad)
        assert str(raised.value) == "not a GitLab merge request or issue thread: 'pipelines/3'"
        assert setup.gitlab.calls == []


def _described(error: DeliveryError) -> tuple[str, str, float | None]:
    wait = error.retry_after if isinstance(error, RetryLater) else None
    return type(error).__name__, error.reason, wait
