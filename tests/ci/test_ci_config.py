"""``[ci]``: defaults, workflows, and errors that name the key."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.config import CiSettings, CiWorkflow, Config, ConfigError, parse_config
from bot.messages import Forge

EXAMPLE = Path(__file__).parents[2] / "config.example.toml"


def parse(data: dict[str, Any], environ: dict[str, str] | None = None) -> Config:
    return parse_config(data, environ or {}, base_dir=EXAMPLE.parent)


def test_defaults() -> None:
    assert parse({}).ci == CiSettings(
        rescan_window_seconds=120,
        stuck_after_minutes=60,
        reconcile_cron="*/10 * * * *",
        workflows=(),
    )


def test_workflows_are_read_with_repositories_in_lower_case() -> None:
    data = {
        "ci": {
            "rescan_window_seconds": 0,
            "workflows": [
                {"repo": "Acme/Web", "workflow": "ci.yml"},
                {"repo": "group/sub/project", "workflow": "12", "forge": "GitLab"},
            ],
        }
    }

    ci = parse(data).ci

    assert ci == CiSettings(
        rescan_window_seconds=0,
        workflows=(
            CiWorkflow(repo="acme/web", workflow="ci.yml", forge="github"),
            CiWorkflow(repo="group/sub/project", workflow="12", forge="gitlab"),
        ),
    )
    assert ci.workflow_for(Forge.GITHUB, "ACME/web") == "ci.yml"
    assert ci.workflow_for(Forge.GITLAB, "acme/web") is None
    assert ci.workflow_for(Forge.GITLAB, "Group/Sub/Project") == "12"


def test_the_commented_example_workflows_are_valid() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    keys = r"\[\[ci\.workflows\]\]|repo =|workflow =|forge ="
    text = text.replace("\nworkflows = []\n", "\n")
    ci_section, later = text.split("\n[secrets]\n")
    text = re.sub(rf"^# ({keys})", r"\1", ci_section, flags=re.M) + "\n[secrets]\n" + later

    ci = parse(tomllib.loads(text)).ci

    assert ci.workflows == (
        CiWorkflow(repo="acme/web", workflow="ci.yml"),
        CiWorkflow(repo="acme/api", workflow="deploy-check.yml", forge="github"),
    )


@pytest.mark.parametrize(
    ("ci", "expected"),
    [
        (
            {"rescan_window_seconds": -1},
            "ci.rescan_window_seconds: must be at least 0, got -1",
        ),
        ({"stuck_after_minutes": 0}, "ci.stuck_after_minutes: must be at least 1, got 0"),
        (
            {"reconcile_cron": "every ten minutes"},
            "ci.reconcile_cron: expected 5 fields (minute hour day-of-month month "
            "day-of-week), got 3 in 'every ten minutes'",
        ),
        ({"workflows": [{"repo": "acme/web"}]}, "ci.workflows[0].workflow: missing required key"),
        (
            {"workflows": [{"repo": "web", "workflow": "ci.yml"}]},
            "ci.workflows[0].repo: expected a repository such as 'acme/web' or "
            "'group/sub/project', got 'web'",
        ),
        (
            {"workflows": [{"repo": "acme/ web", "workflow": "ci.yml"}]},
            "ci.workflows[0].repo: expected a repository such as 'acme/web' or "
            "'group/sub/project', got 'acme/ web'",
        ),
        (
            {"workflows": [{"repo": "acme/web", "workflow": ""}]},
            "ci.workflows[0].workflow: must not be empty",
        ),
        (
            {"workflows": [{"repo": "acme/web", "workflow": "ci.yml", "forge": "bitbucket"}]},
            "ci.workflows[0].forge: must be one of github, gitlab; got 'bitbucket'",
        ),
        (
            {
                "workflows": [
                    {"repo": "acme/web", "workflow": "ci.yml"},
                    {"repo": "ACME/web", "workflow": "other.yml"},
                ]
            },
            "ci.workflows[1].repo: github repository 'acme/web' already has a workflow; "
            "give one per repository",
        ),
        (
            {"workflows": [{"repo": "acme/web", "workflow": "ci.yml", "branch": "main"}]},
            "ci.workflows[0].branch: unknown key; expected one of repo, workflow, forge",
        ),
    ],
)
def test_errors_name_the_key(ci: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"ci": ci})

    assert str(caught.value) == expected


def test_environment_overrides_the_scalars() -> None:
    environ = {"CHATOPS__CI__RESCAN_WINDOW_SECONDS": "30", "CHATOPS__CI__STUCK_AFTER_MINUTES": "5"}

    ci = parse({}, environ).ci

    assert (ci.rescan_window_seconds, ci.stuck_after_minutes) == (30, 5)
