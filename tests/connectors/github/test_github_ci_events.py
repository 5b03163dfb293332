"""GitHub CI webhooks: decoding GitHub's own examples, and the receiver handing them on.

``EXPECTED`` states, for every ``workflow_run`` and ``check_suite`` example payload, the
whole ``CiRunEvent`` it decodes to or why it is not tracked; ``test_github_events`` reuses
it for its table of every example payload.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.config import BotSettings
from bot.forge import CheckState, CiRun, CiRunEvent
from bot.messages import Forge, Invocation, Outgoing
from connectors.github.ci_events import NotTracked, decode_ci
from connectors.github.forge import GitHubForge
from connectors.github.hooks import HookSecrets
from connectors.github.inbound import WebhookReceiver
from connectors.github.integration import open_github
from connectors.github.protocol import Identity, sign
from tests.connectors.github.test_github_forge import TOKEN, settings
from tests.fakes.clock import FakeClock
from tests.fakes.github import FakeGitHub
from tests.github_payloads import workflow_run_payload

WEBHOOKS = Path(__file__).parents[2] / "fixtures" / "github" / "webhooks"
SECRET = "ci webhook secret"
OCTO = "octo-org/octo-repo"
HELLO = "Codertocat/Hello-World"
RUN_SHA = "3484a3fb816e0859fd6e1cea078d76385ff50625"
SUITE_SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def example_run(**fields: Any) -> CiRun:
    """The run all four ``workflow_run`` examples describe (``octo-org/octo-repo``)."""
    values: dict[str, Any] = {
        "id": "289782451",
        "name": "test",  # the run's own name is empty; the workflow's
        "state": CheckState.COMPLETED,
        "conclusion": "success",
        "url": f"https://github.com/{OCTO}/actions/runs/289782451",
        "head_sha": RUN_SHA,
        "actor": "Codertocat",
        "event": "repository_dispatch",
        "attempt": 1,
        "started_at": at("2020-10-05T16:33:49"),
        "finished_at": at("2020-10-05T16:33:49"),
        **fields,
    }
    return CiRun(**values)


SUITE = CiRun(
    id="suite:118578147",
    name="octocoders-linter",
    state=CheckState.COMPLETED,
    conclusion="success",
    url=f"https://github.com/{HELLO}/commit/{SUITE_SHA}/checks",
    head_sha=SUITE_SHA,
    actor="Codertocat",
    event="check_suite",
    attempt=1,
    started_at=at("2019-05-15T15:20:31"),
    finished_at=at("2019-05-15T15:21:14"),
)
NOT_A_COMPLETION = "check_suite.{} is not a completion"
EXPECTED: dict[str, CiRunEvent | NotTracked] = {
    "workflow_run.completed.json": CiRunEvent(Forge.GITHUB, OCTO, example_run()),
    "workflow_run.completed.with-pull-requests.json": CiRunEvent(
        Forge.GITHUB, OCTO, example_run(), changes=(2,)
    ),
    "workflow_run.requested.json": CiRunEvent(
        Forge.GITHUB,
        OCTO,
        example_run(state=CheckState.QUEUED, conclusion=None, finished_at=None),
    ),
    "workflow_run.requested.with-conclusion.json": CiRunEvent(
        Forge.GITHUB,
        OCTO,
        example_run(conclusion="action_required", finished_at=at("2020-10-05T16:33:24")),
    ),
    "check_suite.completed.json": CiRunEvent(Forge.GITHUB, HELLO, SUITE, changes=(2,)),
    "check_suite.completed.with-organization.json": CiRunEvent(
        Forge.GITHUB, HELLO, SUITE, changes=(2,)
    ),
    "check_suite.completed.1.json": NotTracked(
        "check_suite from GitHub Actions: its workflow_run events cover it"
    ),
    "check_suite.requested.json": NotTracked(NOT_A_COMPLETION.format("requested")),
    "check_suite.requested.with-email-with-special-characters.json": NotTracked(
        NOT_A_COMPLETION.format("requested")
    ),
    "check_suite.requested.with-organization.json": NotTracked(
        NOT_A_COMPLETION.format("requested")
    ),
    "check_suite.rerequested.json": NotTracked(NOT_A_COMPLETION.format("rerequested")),
    "check_suite.rerequested.with-organization.json": NotTracked(
        NOT_A_COMPLETION.format("rerequested")
    ),
}


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((WEBHOOKS / name).read_text())
    return data


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_ci_example_payload_decodes_to_its_whole_expected_value(name: str) -> None:
    event = name.partition(".")[0]

    assert decode_ci(event, payload(name)) == EXPECTED[name]


def test_the_table_covers_every_workflow_run_and_check_suite_example() -> None:
    present = {
        path.name
        for pattern in ("workflow_run.*.json", "check_suite.*.json")
        for path in WEBHOOKS.glob(pattern)
    }
    assert present == set(EXPECTED)


def test_in_progress_runs_and_other_actions_and_events() -> None:
    # GitHub's examples have no in_progress delivery (see PROVENANCE.md): derive one
    running = payload("workflow_run.requested.json")
    running["action"] = "in_progress"
    running["workflow_run"]["status"] = "in_progress"
    running["workflow_run"]["conclusion"] = "neutral"  # ignored until completed
    other = payload("workflow_run.requested.json")
    other["action"] = "archived"

    assert decode_ci("workflow_run", running) == CiRunEvent(
        Forge.GITHUB,
        OCTO,
        example_run(state=CheckState.IN_PROGRESS, conclusion=None, finished_at=None),
    )
    assert decode_ci("workflow_run", other) == NotTracked(
        "workflow_run.archived is not a run update"
    )
    assert decode_ci("check_run", payload("check_run.completed.json")) == NotTracked(
        "check_run events carry no CI runs"
    )


async def test_a_fake_runs_webhook_decodes_to_what_the_rest_api_says_of_it() -> None:
    clock = FakeClock()
    async with FakeGitHub(clock=clock.now) as github:
        github.add_token(TOKEN)
        github.add_pull("acme/widgets", 7, "c" * 40, "feature", "alice")
        github.add_pull("acme/widgets", 8, "c" * 40, "feature-copy", "bob")
        github.add_pull("acme/widgets", 9, "c" * 40, "from-fork", "eve", fork=True)
        github.add_installation(5, "acme", ["widgets"])
        workflow = github.add_workflow("acme/widgets", "CI", ".github/workflows/ci.yml")
        created = clock.now()
        run_id = github.add_workflow_run(
            "acme/widgets", workflow, "c" * 40, "feature", event="pull_request", actor="alice"
        )
        github.add_job(run_id, "test", status="queued", conclusion=None)
        clock.advance(30)
        github.start_workflow_run(run_id)
        started = workflow_run_payload(github, run_id, "in_progress")
        clock.advance(90)
        github.finish_workflow_run(run_id, "failure", jobs={"test": "failure"})
        finished = workflow_run_payload(github, run_id, "completed")
        async with open_github(settings(github.url), BotSettings(), clock) as access:
            rest = await GitHubForge(access.client, clock).ci_run("acme/widgets", str(run_id))

        assert decode_ci("workflow_run", finished) == CiRunEvent(
            Forge.GITHUB, "acme/widgets", rest, changes=(7, 8)
        )
        assert rest == CiRun(
            id=str(run_id),
            name="CI",
            state=CheckState.COMPLETED,
            conclusion="failure",
            url=f"https://github.com/acme/widgets/actions/runs/{run_id}",
            head_sha="c" * 40,
            actor="alice",
            event="pull_request",
            attempt=1,
            started_at=created,
            finished_at=created + timedelta(seconds=30 + 90),
        )
        assert decode_ci("workflow_run", started) == CiRunEvent(
            Forge.GITHUB,
            "acme/widgets",
            CiRun(
                id=str(run_id),
                name="CI",
                state=CheckState.IN_PROGRESS,
                conclusion=None,
                url=f"https://github.com/acme/widgets/actions/runs/{run_id}",
                head_sha="c" * 40,
                actor="alice",
                event="pull_request",
                attempt=1,
                started_at=created,
                finished_at=None,
            ),
            changes=(7, 8),
        )
        assert (finished["installation"]["id"], finished["repository"]["full_name"]) == (
            5,
            "acme/widgets",
        )
        assert github.violations == []


# The receiver


@dataclass
class RecordingSink:
    """A run tracker stand-in: records what it observes, or fails when told to."""

    fail: bool = False
    observed: list[CiRunEvent] = field(default_factory=list)

    async def observe(self, event: CiRunEvent) -> None:
        if self.fail:
            raise RuntimeError("the store is down")
        self.observed.append(event)


class NoCommands:
    """An intake that fails the test if anything reaches it: CI updates are no commands."""

    async def submit(self, invocation: Invocation, *, acknowledge: bool = False) -> bool:
        raise AssertionError("a CI update must not reach the command pipeline")

    async def submit_event(
        self,
        invocations: Sequence[Invocation],
        *,
        acknowledge: bool,
        notices: Sequence[Outgoing],
    ) -> tuple[int, int]:
        raise AssertionError("a CI update must not reach the command pipeline")

    async def notify(self, notice: Outgoing) -> bool:
        raise AssertionError("a CI update must not reach the outbox")

    async def opened(self) -> None:
        return None


@dataclass
class Receiving:
    client: TestClient[Any, Any]
    sink: RecordingSink
    receiver: WebhookReceiver

    async def deliver(self, event: str, body: bytes) -> tuple[int, Any]:
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": "d-ci-1",
            "X-Hub-Signature-256": sign(body, SECRET),
            "Content-Type": "application/json",
        }
        response = await self.client.post("/webhooks/github", data=body, headers=headers)
        return response.status, await response.json()


@pytest.fixture
async def receiving() -> AsyncIterator[Receiving]:
    sink = RecordingSink()
    receiver = WebhookReceiver(
        secrets=[SECRET],
        hook_secrets=HookSecrets(),
        identity=Identity(mentions=("@chatops",), logins=frozenset({"chatops-bot"})),
        installations=None,
        intake=NoCommands(),
        ci_events=sink,
        max_body_bytes=1024**2,
        clock=FakeClock(),
        log=logging.getLogger("chatops.test.github"),
    )
    app = web.Application()
    app.router.add_post("/webhooks/github", receiver.handle)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        yield Receiving(client, sink, receiver)


async def test_a_ci_update_is_handed_to_the_run_tracker_then_answered(
    receiving: Receiving,
) -> None:
    body = (WEBHOOKS / "workflow_run.completed.with-pull-requests.json").read_bytes()
    suite = (WEBHOOKS / "check_suite.completed.json").read_bytes()

    assert await receiving.deliver("workflow_run", body) == (202, {"observed": "workflow_run"})
    assert await receiving.deliver("check_suite", suite) == (202, {"observed": "check_suite"})
    assert receiving.sink.observed == [
        EXPECTED["workflow_run.completed.with-pull-requests.json"],
        EXPECTED["check_suite.completed.json"],
    ]


async def test_untracked_ci_deliveries_and_a_bot_without_tracking_are_202_ignored(
    receiving: Receiving,
) -> None:
    actions = (WEBHOOKS / "check_suite.completed.1.json").read_bytes()
    body = (WEBHOOKS / "workflow_run.completed.json").read_bytes()

    first = await receiving.deliver("check_suite", actions)
    receiving.receiver.ci_events = None  # a bot where no feature follows CI
    second = await receiving.deliver("workflow_run", body)

    assert first == (
        202,
        {"ignored": "check_suite from GitHub Actions: its workflow_run events cover it"},
    )
    assert second == (202, {"ignored": "no CI tracking"})
    assert receiving.sink.observed == []


async def test_a_failing_run_tracker_answers_500_so_github_can_redeliver(
    receiving: Receiving, caplog: pytest.LogCaptureFixture
) -> None:
    receiving.sink.fail = True
    body = (WEBHOOKS / "workflow_run.completed.json").read_bytes()

    with caplog.at_level(logging.ERROR, logger="chatops.test.github"):
        answer = await receiving.deliver("workflow_run", body)

    assert answer == (500, {"error": "could not record the CI update"})
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", "could not record a GitHub CI update; GitHub may redeliver it")
    ]
