"""Decoding GitHub deliveries, and the signature check, with GitHub's own example payloads."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.messages import (
    Actor,
    Forge,
    Invocation,
    Platform,
    ReplyTarget,
    Target,
    TargetKind,
)
from connectors.github.ci_events import NotTracked
from connectors.github.protocol import (
    CiUpdate,
    Commands,
    Identity,
    Ignored,
    InstallationChange,
    Ping,
    decode,
    sign,
    verify,
)
from tests.connectors.github.test_github_ci_events import EXPECTED as CI_UPDATES

WEBHOOKS = Path(__file__).parents[2] / "fixtures" / "github" / "webhooks"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
IDENTITY = Identity(mentions=("@chatops", "@chatops-bot"), logins=frozenset({"chatops-bot"}))
SECRET = "It's a Secret to Everybody"


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((WEBHOOKS / name).read_text())
    return data


def with_body(name: str, body: str, **user: Any) -> dict[str, Any]:
    """A real example payload with the comment's body (and author fields) replaced."""
    data = copy.deepcopy(payload(name))
    data["comment"]["body"] = body
    data["comment"]["user"].update(user)
    return data


def decoded(event: str, data: dict[str, Any]) -> object:
    ids = iter(f"inv-{i}" for i in range(100))
    return decode(
        event, "72d3162e", data, identity=IDENTITY, received_at=NOW, new_id=lambda: next(ids)
    )


def test_a_command_on_an_issue_becomes_one_invocation_replying_in_that_thread() -> None:
    data = with_body("issue_comment.created.with-installation.json", "@chatops ping")

    assert decoded("issue_comment", data) == Commands(
        invocations=(
            Invocation(
                id="inv-0",
                platform=Platform.GITHUB,
                actor=Actor(platform=Platform.GITHUB, id="Codertocat", name="Codertocat"),
                text="ping",
                reply_to=ReplyTarget(
                    platform=Platform.GITHUB,
                    channel="Codertocat/Hello-World",
                    thread="1",
                    message="492700400",
                    extra=(
                        ("comment_kind", "issue"),
                        ("installation", "1"),
                        ("delivery", "72d3162e"),
                        ("quote", "@chatops ping"),
                    ),
                ),
                delivery_key="github:issue_comment:492700400:0",
                received_at=NOW,
                target=Target(
                    repo="Codertocat/Hello-World",
                    kind=TargetKind.ISSUE,
                    number=1,
                    forge=Forge.GITHUB,
                ),
            ),
        ),
        installation_id=1,
    )


def test_a_review_comment_targets_its_pull_request_and_replies_in_the_review_thread() -> None:
    data = with_body(
        "pull_request_review_comment.created.json", "LGTM\n@chatops-bot status\n@chatops help"
    )

    result = decoded("pull_request_review_comment", data)

    assert isinstance(result, Commands)
    assert [(i.text, i.delivery_key, i.reply_to.hint("quote")) for i in result.invocations] == [
        ("status", "github:review_comment:284312630:0", "@chatops status"),
        ("help", "github:review_comment:284312630:1", "@chatops help"),
    ]
    first = result.invocations[0]
    assert first.target == Target(
        repo="Codertocat/Hello-World", kind=TargetKind.PULL_REQUEST, number=2, forge=Forge.GITHUB
    )
    assert (first.reply_to.thread, first.reply_to.message) == ("2", "284312630")
    assert first.reply_to.extra[0] == ("comment_kind", "review")


def test_a_comment_on_a_pull_request_targets_the_pull_request() -> None:
    data = with_body("issue_comment.created.json", "@chatops status")
    data["issue"]["pull_request"] = {"url": "https://api.github.com/repos/x/y/pulls/1"}

    result = decoded("issue_comment", data)

    assert isinstance(result, Commands)
    assert result.invocations[0].target == Target(
        repo="Codertocat/Hello-World", kind=TargetKind.PULL_REQUEST, number=1, forge=Forge.GITHUB
    )
    assert result.installation_id is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            with_body("issue_comment.created.json", "@chatops ping", login="chatops-bot"),
            "comment by the bot account chatops-bot",
        ),
        (
            with_body("issue_comment.created.json", "@chatops ping", login="ChatOps-Bot"),
            "comment by the bot account ChatOps-Bot",
        ),
        (
            with_body("issue_comment.created.json", "@chatops ping", login="ci[bot]", type="Bot"),
            "comment by the bot account ci[bot]",
        ),
        (
            with_body("issue_comment.created.json", "> @chatops ping\n`@chatops ping`"),
            "no command in the comment",
        ),
        (
            with_body("issue_comment.edited.json", "@chatops ping"),
            "issue_comment.edited is not a new comment",
        ),
        (
            with_body("issue_comment.deleted.json", "@chatops ping"),
            "issue_comment.deleted is not a new comment",
        ),
    ],
)
def test_edits_deletions_bots_and_quoted_commands_are_ignored(
    data: dict[str, Any], reason: str
) -> None:
    assert decoded("issue_comment", data) == Ignored(reason)


INSTALLATIONS = {
    "installation.created.json": InstallationChange(
        957387, "Codertocat", "created", ("Codertocat/Hello-World",), ()
    ),
    "installation.created.with-requester.json": InstallationChange(
        957387, "Codertocat", "created", ("Codertocat/Hello-World",), ()
    ),
    "installation.deleted.json": InstallationChange(
        2, "octocat", "deleted", (), ("octocat/Hello-World",)
    ),
    "installation_repositories.added.json": InstallationChange(
        957387, "Codertocat", "added", ("Codertocat/Space",), ()
    ),
    "installation_repositories.removed.json": InstallationChange(
        2, "octocat", "removed", (), ("octocat/Hello-World",)
    ),
}
NO_COMMAND = {
    "issue_comment.created.1.json",
    "issue_comment.created.json",
    "issue_comment.created.with-installation.json",
    "issue_comment.created.with-organization.json",
    "pull_request_review_comment.created.json",
    "pull_request_review_comment.created.with-organization.json",
}


@pytest.mark.parametrize("name", sorted(path.name for path in WEBHOOKS.glob("*.json")))
def test_every_example_payload_decodes_to_a_deliberate_outcome(name: str) -> None:
    event, _, rest = name.partition(".")
    action = rest.split(".")[0]

    result = decoded(event, payload(name))

    if event == "ping":
        assert result == Ping(hook_id=109948940)
    elif name in CI_UPDATES:
        expected = CI_UPDATES[name]
        if isinstance(expected, NotTracked):
            assert result == Ignored(expected.reason)
        else:
            assert result == CiUpdate(expected)
    elif name in INSTALLATIONS:
        assert result == INSTALLATIONS[name]
    elif name in NO_COMMAND:
        assert result == Ignored("no command in the comment")
    elif event == "issue_comment":
        assert result == Ignored(f"issue_comment.{action} is not a new comment")
    else:
        assert result == Ignored(f"{event} events carry no commands")


def test_every_example_payload_is_covered_by_the_table_above() -> None:
    names = {path.name for path in WEBHOOKS.glob("*.json")}
    assert len(names) == 67
    assert set(INSTALLATIONS) | NO_COMMAND | set(CI_UPDATES) <= names


def test_signatures_are_sha256_over_the_exact_bytes_with_any_listed_secret() -> None:
    body = b'{"zen": "Design for failure."}'
    good = sign(body, SECRET)

    # the example from GitHub's "Validating webhook deliveries" page
    assert sign(b"Hello, World!", SECRET) == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )
    assert verify(body, good, [SECRET]) is True
    assert verify(body, good, ["old secret", SECRET]) is True
    assert verify(body + b" ", good, [SECRET]) is False
    assert verify(body, good, ["another"]) is False
    assert verify(body, None, [SECRET]) is False
    assert verify(body, good.replace("sha256=", "sha1="), [SECRET]) is False
    assert verify(body, "sha256=zz", [SECRET]) is False
    assert verify(body, good, []) is False
