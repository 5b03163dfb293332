"""``connectors.gitlab.ci_events``: every pipeline and merge request payload of GitLab's docs
and of go-gitlab's fixtures decoded into the exact event (or None), and the status words."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.forge import CheckState, CiRun, CiRunEvent
from bot.messages import Forge
from connectors.gitlab.ci_events import decode_ci, job_conclusion, parse_time, status_of

WEBHOOKS = Path(__file__).parents[2] / "fixtures" / "gitlab" / "webhooks"
SHA = "bcbb5ec396a2c0f828686f14fac9b80b780504f2"
CREATED = datetime(2016, 8, 12, 15, 23, 28, tzinfo=UTC)
FINISHED = datetime(2016, 8, 12, 15, 26, 29, tzinfo=UTC)


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((WEBHOOKS / name).read_text())
    return data


def test_the_docs_pipeline_example_is_a_completed_merge_request_pipeline() -> None:
    assert decode_ci("Pipeline Hook", fixture("docs/pipeline.json")) == CiRunEvent(
        forge=Forge.GITLAB,
        repo="gitlab-org/gitlab-test",
        run=CiRun(
            id="31",
            name="Pipeline for branch: master",
            state=CheckState.COMPLETED,
            conclusion="success",
            url="http://example.com/gitlab-org/gitlab-test/-/pipelines/31",
            head_sha=SHA,
            actor="root",
            event="merge_request_event",
            attempt=1,
            started_at=CREATED,
            finished_at=FINISHED,
        ),
        changes=(1,),
    )


def test_the_go_gitlab_pipeline_has_no_name_nor_url_so_both_are_derived() -> None:
    assert decode_ci("Pipeline Hook", fixture("go-gitlab/pipeline.json")) == CiRunEvent(
        forge=Forge.GITLAB,
        repo="gitlab-org/gitlab-test",
        run=CiRun(
            id="31",
            name="pipeline #31",
            state=CheckState.COMPLETED,
            conclusion="success",
            url="http://192.168.64.1:3005/gitlab-org/gitlab-test/-/pipelines/31",
            head_sha=SHA,
            actor="user1",
            event="merge_request_event",
            attempt=1,
            started_at=CREATED,
            finished_at=FINISHED,
        ),
        changes=(1,),
    )


def test_a_running_branch_pipeline_has_no_change_and_no_finish() -> None:
    payload = copy.deepcopy(fixture("docs/pipeline.json"))
    payload["merge_request"] = None
    payload["object_attributes"].update(status="running", source="push", finished_at=None)

    event = decode_ci("Pipeline Hook", payload)

    assert event is not None
    assert (event.changes, event.run.state, event.run.conclusion, event.run.finished_at) == (
        (),
        CheckState.IN_PROGRESS,
        None,
        None,
    )


def test_a_child_pipeline_is_covered_by_its_parent() -> None:
    payload = copy.deepcopy(fixture("docs/pipeline.json"))
    payload["object_attributes"]["source"] = "parent_pipeline"

    assert decode_ci("Pipeline Hook", payload) is None


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("docs/merge_request.json", "Merge Request Hook"),
        ("go-gitlab/merge_request.json", "Merge Request Hook"),
        ("docs/job.json", "Job Hook"),
        ("go-gitlab/job.json", "Job Hook"),
        ("go-gitlab/build.json", "Job Hook"),
        ("docs/note.merge_request.json", "Note Hook"),
        ("docs/push.json", "Push Hook"),
        ("go-gitlab/issue.json", "Issue Hook"),
    ],
)
def test_deliveries_without_pipeline_state_carry_no_ci_update(name: str, event: str) -> None:
    assert decode_ci(event, fixture(name)) is None


def test_a_pipeline_payload_under_another_event_name_is_not_read() -> None:
    assert decode_ci("Merge Request Hook", fixture("docs/pipeline.json")) is None


def test_status_words_map_onto_states_and_conclusions() -> None:
    words = [
        "created",
        "waiting_for_resource",
        "preparing",
        "pending",
        "scheduled",
        "running",
        "canceling",
        "success",
        "failed",
        "canceled",
        "skipped",
        "manual",
        "something_new",
    ]
    queued, running, done = CheckState.QUEUED, CheckState.IN_PROGRESS, CheckState.COMPLETED
    assert [status_of(word) for word in words] == [
        (queued, None),
        (queued, None),
        (queued, None),
        (queued, None),
        (queued, None),
        (running, None),
        (running, None),
        (done, "success"),
        (done, "failed"),
        (done, "canceled"),
        (done, "skipped"),
        (done, "manual"),
        (queued, None),
    ]
    assert status_of("manual", pipeline=True) == (done, "action_required")
    assert job_conclusion({"status": "failed", "allow_failure": True}) == (done, "allowed_failure")
    assert job_conclusion({"status": "failed", "allow_failure": False}) == (done, "failed")


def test_times_in_webhook_and_rest_formats_are_utc() -> None:
    assert [
        parse_time("2016-08-12 15:23:28 UTC"),
        parse_time("2016-08-12T15:23:28.085Z"),
        parse_time("2016-08-12T17:23:28+02:00"),
        parse_time(""),
        parse_time(None),
    ] == [
        CREATED,
        datetime(2016, 8, 12, 15, 23, 28, 85000, tzinfo=UTC),
        CREATED,
        None,
        None,
    ]
