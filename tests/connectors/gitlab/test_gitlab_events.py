"""Decoding GitLab deliveries into invocations (pure): threads, delivery keys, who is ignored."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.forge import CiRunEvent
from bot.messages import (
    Actor,
    Forge,
    Invocation,
    Platform,
    ReplyTarget,
    Target,
    TargetKind,
)
from connectors.gitlab.ci_events import decode_ci
from connectors.gitlab.protocol import (
    CiUpdate,
    Commands,
    DeliveryIds,
    Identity,
    Ignored,
    decode,
)
from tests.gitlab_stack import example

IDENTITY = Identity(mentions=("@chatops", "@chatops-bot"), usernames=frozenset({"chatops-bot"}))
AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
KEY = DeliveryIds(idempotency_key="idem-1", event_uuid="ev-1", webhook_uuid="hook-1")


def run(event: str, payload: dict[str, Any], delivery: DeliveryIds = KEY) -> object:
    ids = (f"inv-{n}" for n in itertools.count(1))
    return decode(
        event,
        payload,
        delivery=delivery,
        identity=IDENTITY,
        received_at=AT,
        new_id=lambda: next(ids),
        decode_ci=decode_ci,
    )


def note(name: str, text: str, **attributes: Any) -> dict[str, Any]:
    payload = copy.deepcopy(example(name))
    payload["object_attributes"].update(note=text, **attributes)
    return payload


def invocation(
    index: int, text: str, thread: str, kind: TargetKind, number: int, delivery: str
) -> Invocation:
    message = "1244" if kind is TargetKind.MERGE_REQUEST else "1241"
    return Invocation(
        id=f"inv-{index + 1}",
        platform=Platform.GITLAB,
        actor=Actor(platform=Platform.GITLAB, id="1", name="root"),
        text=text,
        reply_to=ReplyTarget(
            platform=Platform.GITLAB,
            channel="gitlab-org/gitlab-test",
            thread=thread,
            message=message,
            extra=(("quote", f"@chatops {text}"), ("delivery", delivery)),
        ),
        delivery_key=f"gitlab:note:{message}:{index}",
        received_at=AT,
        target=Target(repo="gitlab-org/gitlab-test", kind=kind, number=number, forge=Forge.GITLAB),
    )


def test_each_command_line_of_a_merge_request_note_is_one_invocation() -> None:
    text = (
        "Looks good.\n@chatops ping\n> @chatops rescan\n```\n@chatops help\n```\n@chatops-bot help"
    )
    decoded = run("Note Hook", note("docs/note.merge_request.json", text))

    assert decoded == Commands(
        (
            invocation(0, "ping", "merge_requests/1", TargetKind.MERGE_REQUEST, 1, "idem-1"),
            invocation(1, "help", "merge_requests/1", TargetKind.MERGE_REQUEST, 1, "idem-1"),
        )
    )


def test_an_issue_note_targets_the_issue() -> None:
    payload = note("docs/note.issue.json", "@chatops ping")
    payload["object_attributes"]["id"] = 1241

    decoded = run("Note Hook", payload)

    assert decoded == Commands(
        (invocation(0, "ping", "issues/17", TargetKind.ISSUE, 17, "idem-1"),)
    )


@pytest.mark.parametrize(
    ("delivery", "name"),
    [
        (KEY, "idem-1"),
        (DeliveryIds(event_uuid="ev-1", webhook_uuid="hook-1"), "ev-1:hook-1"),
        (DeliveryIds(event_uuid="ev-1"), "ev-1"),
        (DeliveryIds(), None),
    ],
)
def test_the_inbox_key_is_the_note_and_the_delivery_is_kept_as_a_hint(
    delivery: DeliveryIds, name: str | None
) -> None:
    decoded = run("Note Hook", note("docs/note.merge_request.json", "@chatops ping"), delivery)

    assert isinstance(decoded, Commands)
    assert [(i.delivery_key, i.reply_to.hint("delivery")) for i in decoded.invocations] == [
        ("gitlab:note:1244:0", name)
    ]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"system": True}, "a system note"),
        ({"action": "update"}, "a note update, not a new note"),
        ({"noteable_type": "Commit"}, "notes on a Commit carry no commands"),
        ({"noteable_type": "Snippet"}, "notes on a Snippet carry no commands"),
        ({"note": "@chatopsy ping"}, "no command in the note"),
        ({"note": "    @chatops ping"}, "no command in the note"),  # indented code
    ],
)
def test_notes_that_carry_no_command_are_ignored_with_the_reason(
    change: dict[str, Any], reason: str
) -> None:
    payload = note("docs/note.merge_request.json", "@chatops ping")
    payload["object_attributes"].update(change)

    assert run("Note Hook", payload) == Ignored(reason)


def test_a_note_without_an_action_from_an_older_gitlab_is_read() -> None:
    payload = note("docs/note.merge_request.json", "@chatops ping")
    del payload["object_attributes"]["action"]

    assert isinstance(run("Note Hook", payload), Commands)


@pytest.mark.parametrize(
    "username", ["chatops-bot", "ChatOps-Bot", "project_5_bot_0123abcd", "group_9_bot"]
)
def test_notes_by_the_bot_or_a_token_bot_user_are_ignored(username: str) -> None:
    payload = note("docs/note.merge_request.json", "@chatops ping")
    payload["user"]["username"] = username

    assert run("Note Hook", payload) == Ignored(f"a note by the bot user {username}")


def test_pipeline_events_become_ci_updates_and_others_are_ignored() -> None:
    pipeline = example("docs/pipeline.json")
    update = decode_ci("Pipeline Hook", pipeline)

    assert isinstance(update, CiRunEvent)
    assert run("Pipeline Hook", pipeline) == CiUpdate(update)
    assert run("Merge Request Hook", example("docs/merge_request.json")) == Ignored(
        "Merge Request Hook: nothing the run tracker follows"
    )
    assert run("Push Hook", example("docs/push.json")) == Ignored(
        "Push Hook events carry no commands"
    )


def test_without_ci_tracking_pipeline_events_are_ignored() -> None:
    decoded = decode(
        "Pipeline Hook",
        example("docs/pipeline.json"),
        delivery=KEY,
        identity=IDENTITY,
        received_at=AT,
        new_id=lambda: "x",
    )
    assert decoded == Ignored("Pipeline Hook: no CI tracking")


@pytest.mark.parametrize(
    "broken",
    [
        {"object_attributes": {"noteable_type": "MergeRequest"}},
        {"object_attributes": "not an object"},
        {"object_attributes": {"noteable_type": "Issue", "note": "@chatops ping"}, "user": []},
    ],
)
def test_a_note_event_without_its_fields_raises_for_the_receiver_to_refuse(
    broken: dict[str, Any],
) -> None:
    with pytest.raises((KeyError, TypeError)):
        run("Note Hook", broken)
