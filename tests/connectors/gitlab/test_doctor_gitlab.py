"""``chatops doctor``'s GitLab webhook check against the fake GitLab: per project, its own
hook or a group's (nearest group first, groups it cannot read passed over), and what to fix
for each problem, as the whole rendered report of the GitLab check."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from bot.config import Config, load_config
from bot.doctor import render
from connectors.doctor import check_gitlab
from tests.fakes.gitlab import FakeGitLab

TOKEN = "glpat-doctor"
PUBLIC_URL = "https://bot.example.com"
URL = f"{PUBLIC_URL}/webhooks/gitlab"
NEEDED = {"note_events": True, "pipeline_events": True, "merge_requests_events": True}
MAINTAINER, DEVELOPER, OWNER = 40, 30, 50


def config_for(gitlab: FakeGitLab, tmp_path: Path) -> Config:
    path = tmp_path / "chatops.toml"
    path.write_text(
        f"""
[bot]
public_url = "{PUBLIC_URL}"

[gitlab]
enabled = true
base_url = "{gitlab.url}"
token = "env:GITLAB_TOKEN"
webhook_tokens = ["env:GITLAB_WEBHOOK_TOKEN"]
""",
        encoding="utf-8",
    )
    return load_config(path, {"GITLAB_TOKEN": TOKEN, "GITLAB_WEBHOOK_TOKEN": "hook token"})


def project(gitlab: FakeGitLab, path: str, level: int = MAINTAINER) -> int:
    pid = gitlab.add_project(path).id
    gitlab.set_access_level(pid, gitlab.bot, level)
    return pid


async def test_each_project_s_hook_or_its_group_s_and_what_to_fix(tmp_path: Path) -> None:
    async with FakeGitLab(token=TOKEN) as gitlab:
        hooks = gitlab.hooks
        hooks.add_hook(
            URL,
            {**NEEDED, "enable_ssl_verification": False},
            project_id=project(gitlab, "acme/web"),
        )
        hooks.add_hook(
            URL, {**NEEDED, "pipeline_events": False}, project_id=project(gitlab, "acme/api")
        )
        project(gitlab, "acme/secret", DEVELOPER)  # may not read the project's hooks
        # acme/platform/api has no hook of its own; its group's sends no comments
        project(gitlab, "acme/platform/api")
        platform = hooks.add_group("acme/platform")
        hooks.set_group_access_level("acme/platform", gitlab.bot.id, OWNER)
        hooks.add_hook(URL, {**NEEDED, "note_events": False}, group_id=platform)
        # solo/tool has no hook, and its group's hooks cannot be read (not the Owner)
        project(gitlab, "solo/tool")
        solo = hooks.add_group("solo")
        hooks.add_hook(URL, NEEDED, group_id=solo)
        repos = [
            "acme/api",
            "acme/gone",
            "acme/platform/api",
            "acme/secret",
            "acme/web",
            "solo/tool",
        ]
        async with aiohttp.ClientSession() as session:
            findings = await check_gitlab(config_for(gitlab, tmp_path), session, repos=repos)
        violations = gitlab.violations

    all_events = "comments, pipeline events, merge request events"
    assert render(findings, []) == (
        "ok    gitlab          token of chatops-bot\n"
        "FAIL  gitlab webhook  acme/api: webhook 2 does not send pipeline events: run "
        "`chatops gitlab setup-project acme/api`\n"
        "FAIL  gitlab webhook  acme/gone: GitLab answered 404 for its webhooks: no such "
        "project, or the token cannot see it\n"
        "FAIL  gitlab webhook  acme/platform/api (group acme/platform): webhook 3 does not "
        "send comments: run `chatops gitlab setup-group acme/platform`\n"
        "FAIL  gitlab webhook  acme/secret: GitLab answered 403 for its webhooks: reading a "
        "project's webhooks needs the Maintainer role\n"
        f"ok    gitlab webhook  acme/web: webhook 1 sends {all_events}\n"
        "note  gitlab webhook  acme/web: webhook 1 does not verify TLS certificates: run "
        "`chatops gitlab setup-project acme/web`\n"
        f"FAIL  gitlab webhook  solo/tool: no webhook posts to {URL}: run "
        "`chatops gitlab setup-project solo/tool`\n"
        "5 problem(s): fix them, then run `chatops doctor` again\n"
    )
    assert violations == []
