"""Hostile and odd input at GitLab's front door, through the real app and the fake GitLab."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict

from bot.store.models import InboxItem, OutboxItem, OutboxStatus
from bot.web import version
from connectors.markdown import marker_comment
from tests.fakes.waiting import wait_until
from tests.fuzzing import FUZZ_SETTINGS, fuzzed, json_bodies, json_values
from tests.gitlab_stack import MR_IID, PROJECT, WEBHOOK_TOKEN, Stack, gitlab_stack

MR = f"merge_requests/{MR_IID}"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def writes(stack: Stack) -> list[tuple[str, str]]:
    """Every write the fake GitLab answered: (method, raw path)."""
    return [(call.method, call.path) for call in stack.gitlab.calls if call.method in WRITES]


def bot_notes(stack: Stack) -> list[str]:
    bot = stack.gitlab.bot
    return [note.body for note in stack.gitlab.notes(PROJECT, MR) if note.author == bot]


async def sent(count: int) -> bool:
    return await OutboxItem.filter(status=OutboxStatus.SENT).count() >= count


def pong(invocation_id: str) -> str:
    return (
        f"> @&#8203;chatops ping\n\n✅ **pong**\n\n- **version**: {version()}\n- **uptime**: 0s"
        f"\n\n{marker_comment('reply:' + invocation_id)}"
    )


async def test_a_note_of_4700_commands_is_acked_fast_with_ten_replies_one_notice_one_award(
    database_url: str,
) -> None:
    async with gitlab_stack(database_url) as stack:
        payload = stack.note("\n".join(["@chatops ping"] * 4700))
        note_id = payload["object_attributes"]["id"]

        started = time.monotonic()
        response = await stack.deliver(payload)
        acked_in = time.monotonic() - started

        assert (response.status, await response.json()) == (
            200,
            {"accepted": 10, "duplicates": 0, "notices": 1},
        )
        assert acked_in < 1.0, f"acked in {acked_in:.3f}s"
        await wait_until(lambda: sent(12))
        await asyncio.sleep(0.2)
        ids = [row.invocation["id"] for row in await InboxItem.all().order_by("id")]
        notice = (
            "⚠️ **Too many commands**\n\n"
            "This message holds 4,700 commands; only the first 10 were taken. "
            "The other 4,690 were ignored: send them in another message."
            f"\n\n{marker_comment(f'notice:gitlab:note:{note_id}:rest')}"
        )
        assert sorted(bot_notes(stack)) == sorted([*(pong(i) for i in ids), notice])
        assert [(a.note_id, a.name) for a in stack.gitlab.awards] == [(note_id, "eyes")]
        notes_path = f"/api/v4/projects/{PROJECT.replace('/', '%2F')}/{MR}/notes"
        assert sorted(writes(stack)) == sorted(
            [("POST", notes_path)] * 11 + [("POST", f"{notes_path}/{note_id}/award_emoji")]
        )


async def test_the_same_note_under_new_delivery_headers_runs_once(database_url: str) -> None:
    async with gitlab_stack(database_url) as stack:
        payload = stack.note("@chatops ping")

        first = await stack.deliver(payload, idempotency_key="project-hook")
        second = await stack.deliver(payload, idempotency_key="group-hook")

        assert (first.status, await first.json()) == (200, {"accepted": 1, "duplicates": 0})
        assert (second.status, await second.json()) == (200, {"accepted": 0, "duplicates": 1})
        await wait_until(lambda: sent(2))
        await asyncio.sleep(0.2)
        [row] = await InboxItem.all()
        assert bot_notes(stack) == [pong(row.invocation["id"])]
        assert len(writes(stack)) == 2


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        (
            "project.path_with_namespace",
            "../../admin",
            "project.path_with_namespace is not group/project",
        ),
        ("project.path_with_namespace", "solo", "project.path_with_namespace is not group/project"),
        ("object_attributes.id", "7/../8", "a note id or iid is not a positive integer"),
        ("merge_request.iid", 0, "a note id or iid is not a positive integer"),
        ("user.username", "../root", "user.username or user.id is not a GitLab user"),
        ("object_attributes.note", 42, "object_attributes.note is not text"),
    ],
)
async def test_names_and_numbers_outside_gitlabs_grammar_are_ignored_with_the_reason(
    database_url: str, field: str, value: object, reason: str
) -> None:
    async with gitlab_stack(database_url) as stack:
        payload = stack.note("@chatops ping")
        *path, last = field.split(".")
        target = payload
        for name in path:
            target = target[name]
        target[last] = value

        response = await stack.deliver(payload)
        await asyncio.sleep(0.2)

        assert (response.status, await response.json()) == (200, {"ignored": reason})
        assert await InboxItem.all().count() == 0
        assert writes(stack) == []


async def test_two_token_headers_are_refused_even_when_one_is_right(database_url: str) -> None:
    async with gitlab_stack(database_url) as stack:
        body = json.dumps(stack.note("@chatops ping")).encode()
        headers = CIMultiDict(
            [
                ("X-Gitlab-Event", "Note Hook"),
                ("X-Gitlab-Token", WEBHOOK_TOKEN),
                ("X-Gitlab-Token", "guess"),
                ("Content-Type", "application/json"),
            ]
        )

        response = await stack.client.post("/webhooks/gitlab", data=body, headers=headers)

        assert (response.status, await response.json()) == (401, {"error": "invalid token"})
        assert await InboxItem.all().count() == 0


async def test_a_nul_in_a_note_is_stored_escaped_on_every_database(database_url: str) -> None:
    async with gitlab_stack(database_url) as stack:
        response = await stack.deliver(stack.note("@chatops ping \x00\ud800"))

        assert (response.status, await response.json()) == (200, {"accepted": 1, "duplicates": 0})
        [row] = await InboxItem.all()
        assert row.invocation["text"] == "ping \ufffd\ufffd"


async def test_json_nested_50000_deep_is_a_400(database_url: str) -> None:
    async with gitlab_stack(database_url) as stack:
        response = await stack.deliver(b"[" * 50_000 + b"]" * 50_000)

        assert (response.status, await response.json()) == (400, {"error": "malformed payload"})


JSON_VALUES = json_values(
    [
        "object_kind",
        "object_attributes",
        "note",
        "noteable_type",
        "id",
        "iid",
        "user",
        "username",
        "project",
        "path_with_namespace",
        "merge_request",
        "issue",
        "action",
        "system",
        "builds",
        "status",
    ]
)
EVENTS = st.sampled_from(
    ["Note Hook", "Pipeline Hook", "Merge Request Hook", "Push Hook"]
) | st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_fuzzed_deliveries_never_get_a_5xx_or_a_traceback(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Hypothesis on event headers and bodies, with and without the token: never a 5xx."""
    assert fuzzed(gitlab_stack(database_url), caplog, fuzz) == []


def fuzz(runner: asyncio.Runner, stack: Stack) -> None:
    @FUZZ_SETTINGS
    @given(
        event=EVENTS,
        body=json_bodies(JSON_VALUES),
        token=st.booleans(),
    )
    def check(event: str, body: bytes, token: bool) -> None:
        response = runner.run(
            stack.deliver(body, event=event, token=WEBHOOK_TOKEN if token else None)
        )
        assert response.status < 500

    check()
