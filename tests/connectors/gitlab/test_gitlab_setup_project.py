"""``chatops gitlab setup-project`` as a user runs it (a real process) against the fake
GitLab: the whole output, the hook GitLab ends up with, and no write when it is set up."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.fakes.gitlab import FakeGitLab

CHATOPS = Path(sys.executable).parent / "chatops"  # the venv's console script
TIMEOUT = 60.0
BOT_TOKEN = "glpat-setup-token"
HOOK_TOKEN = "hook token, first"
PUBLIC_URL = "https://bot.example.com"
URL = f"{PUBLIC_URL}/webhooks/gitlab"
MAINTAINER, DEVELOPER = 40, 30


def write_config(tmp_path: Path, gitlab: FakeGitLab) -> Path:
    path = tmp_path / "chatops.toml"
    path.write_text(
        f"""
[bot]
public_url = "{PUBLIC_URL}"

[gitlab]
enabled = true
base_url = "{gitlab.url}"
token = "env:GITLAB_TOKEN"
webhook_tokens = ["env:GITLAB_WEBHOOK_TOKEN", "env:GITLAB_OLD_WEBHOOK_TOKEN"]
""",
        encoding="utf-8",
    )
    return path


async def chatops(config: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATOPS")}
    env |= {
        "GITLAB_TOKEN": BOT_TOKEN,
        "GITLAB_WEBHOOK_TOKEN": HOOK_TOKEN,
        "GITLAB_OLD_WEBHOOK_TOKEN": "hook token, old",
    }
    process = await asyncio.create_subprocess_exec(
        str(CHATOPS),
        "--config",
        str(config),
        "gitlab",
        "setup-project",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def hook_fields(gitlab: FakeGitLab) -> list[tuple[int, int, str, str, dict[str, bool]]]:
    flags = ("push_events", "note_events", "pipeline_events", "merge_requests_events")
    return [
        (h.id, h.project_id, h.url, h.token, {name: h.flags[name] for name in flags})
        for h in gitlab.hooks.hooks.values()
    ]


WANTED = {
    "push_events": False,
    "note_events": True,
    "pipeline_events": True,
    "merge_requests_events": True,
}


async def test_first_run_creates_the_hook_and_the_second_writes_nothing(tmp_path: Path) -> None:
    async with FakeGitLab(token=BOT_TOKEN) as gitlab:
        project = gitlab.add_project("acme/platform/web", project_id=42)
        gitlab.set_access_level(42, gitlab.bot, MAINTAINER)
        config = write_config(tmp_path, gitlab)

        first = await chatops(config, "acme/platform/web")
        writes_after_first = gitlab.hooks.writes
        second = await chatops(config, "acme/platform/web")

    assert first == (
        0,
        f"created webhook 1 on acme/platform/web for {URL}: comments, pipeline events, "
        "merge request events; its secret token is the first of gitlab.webhook_tokens\n",
        "",
    )
    assert second == (
        0,
        f"webhook 1 on acme/platform/web for {URL} is already set up (comments, pipeline "
        "events, merge request events); nothing written. GitLab does not show a hook's "
        "token: after changing gitlab.webhook_tokens, run again with --force\n",
        "",
    )
    assert hook_fields(gitlab) == [(1, project.id, URL, HOOK_TOKEN, WANTED)]
    assert (writes_after_first, gitlab.hooks.writes) == (1, 1)
    assert [(c.method, c.path, c.status) for c in gitlab.calls] == [
        ("GET", "/api/v4/projects/acme%2Fplatform%2Fweb/hooks", 200),
        ("POST", "/api/v4/projects/acme%2Fplatform%2Fweb/hooks", 201),
        ("GET", "/api/v4/projects/acme%2Fplatform%2Fweb/hooks", 200),
    ]


async def test_a_hook_with_other_events_is_updated_and_force_rewrites_the_token(
    tmp_path: Path,
) -> None:
    async with FakeGitLab(token=BOT_TOKEN) as gitlab:
        gitlab.add_project("acme/web", project_id=7)
        gitlab.set_access_level(7, gitlab.bot, MAINTAINER)
        config = write_config(tmp_path, gitlab)
        other = await chatops(config, "acme/web")  # hook 1, then made stale by hand:
        hook = gitlab.hooks.hooks[1]
        hook.flags |= {"push_events": True, "pipeline_events": False}
        hook.token = "an old token"

        updated = await chatops(config, "acme/web")
        hook.token = "an old token"
        forced = await chatops(config, "acme/web", "--force")

    assert other[0] == 0
    assert updated == (
        0,
        f"updated webhook 1 on acme/web for {URL} (changed: pipeline_events, push_events): "
        "comments, pipeline events, merge request events; its secret token is the first of "
        "gitlab.webhook_tokens\n",
        "",
    )
    assert forced == (
        0,
        f"updated webhook 1 on acme/web for {URL}: comments, pipeline events, merge request "
        "events; its secret token is the first of gitlab.webhook_tokens\n",
        "",
    )
    assert hook_fields(gitlab) == [(1, 7, URL, HOOK_TOKEN, WANTED)]
    assert gitlab.hooks.writes == 3


async def test_refusals_are_one_line_each(tmp_path: Path) -> None:
    async with FakeGitLab(token=BOT_TOKEN) as gitlab:
        gitlab.add_project("acme/web", project_id=7)
        gitlab.set_access_level(7, gitlab.bot, DEVELOPER)
        config = write_config(tmp_path, gitlab)

        developer = await chatops(config, "acme/web")
        missing = await chatops(config, "acme/nothing")
        malformed = await chatops(config, "web")

    assert developer == (
        1,
        "",
        "chatops: GitLab answered 403: the token's user needs the Maintainer role on acme/web\n",
    )
    assert missing == (
        1,
        "",
        "chatops: GitLab answered 404: no project acme/nothing, or the token cannot see it\n",
    )
    assert malformed == (1, "", "chatops: expected GROUP/PROJECT, got 'web'\n")
    assert gitlab.hooks.hooks == {}
