"""``chatops gitlab setup-group`` as a user runs it (a real process) against the fake GitLab:
the whole output, the group hook GitLab ends up with, no write when it is set up, and the
refusals of a Free tier (404, group webhooks need Premium) and of a user who is not the
group's Owner (403)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from tests.connectors.gitlab.test_gitlab_setup_project import (
    BOT_TOKEN,
    CHATOPS,
    HOOK_TOKEN,
    TIMEOUT,
    URL,
    WANTED,
    write_config,
)
from tests.fakes.gitlab import FakeGitLab

OWNER, MAINTAINER = 50, 40
EVENTS = "comments, pipeline events, merge request events"


async def setup_group(config: Path, *args: str) -> tuple[int, str, str]:
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
        "setup-group",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def group_hooks(gitlab: FakeGitLab) -> list[tuple[int, int | None, str, str, dict[str, bool]]]:
    return [
        (h.id, h.group_id, h.url, h.token, {name: h.flags[name] for name in WANTED})
        for h in gitlab.hooks.hooks.values()
    ]


async def test_the_group_hook_is_created_once_then_updated_or_forced(tmp_path: Path) -> None:
    async with FakeGitLab(token=BOT_TOKEN) as gitlab:
        group = gitlab.hooks.add_group("acme/platform", group_id=77)
        gitlab.hooks.set_group_access_level("acme/platform", gitlab.bot.id, OWNER)
        config = write_config(tmp_path, gitlab)

        first = await setup_group(config, "acme/platform")
        second = await setup_group(config, "acme/platform")
        writes_before_changes = gitlab.hooks.writes
        gitlab.hooks.hooks[1].flags["pipeline_events"] = False  # changed by hand on GitLab
        updated = await setup_group(config, "acme/platform")
        gitlab.hooks.hooks[1].token = "an old token"
        forced = await setup_group(config, "acme/platform", "--force")
        paths = [(c.method, c.path, c.status) for c in gitlab.calls]

    where = f"webhook 1 on group acme/platform for {URL}"
    token = "its secret token is the first of gitlab.webhook_tokens"
    assert first == (0, f"created {where}: {EVENTS}; {token}\n", "")
    assert second == (
        0,
        f"{where} is already set up ({EVENTS}); nothing written. GitLab does not show a "
        "hook's token: after changing gitlab.webhook_tokens, run again with --force\n",
        "",
    )
    assert updated == (0, f"updated {where} (changed: pipeline_events): {EVENTS}; {token}\n", "")
    assert forced == (0, f"updated {where}: {EVENTS}; {token}\n", "")
    assert group_hooks(gitlab) == [(1, group, URL, HOOK_TOKEN, WANTED)]
    assert (writes_before_changes, gitlab.hooks.writes) == (1, 3)
    hooks = "/api/v4/groups/acme%2Fplatform/hooks"
    assert paths == [
        ("GET", hooks, 200),
        ("POST", hooks, 201),
        ("GET", hooks, 200),
        ("GET", hooks, 200),
        ("PUT", f"{hooks}/1", 200),
        ("GET", hooks, 200),
        ("PUT", f"{hooks}/1", 200),
    ]
    assert gitlab.violations == []


async def test_a_free_tier_or_a_user_who_is_not_owner_is_told_why(tmp_path: Path) -> None:
    async with FakeGitLab(token=BOT_TOKEN) as gitlab:
        gitlab.hooks.add_group("acme")
        gitlab.hooks.set_group_access_level("acme", gitlab.bot.id, MAINTAINER)
        config = write_config(tmp_path, gitlab)

        maintainer = await setup_group(config, "acme")
        unknown = await setup_group(config, "nobody")
        gitlab.hooks.premium = False
        gitlab.hooks.set_group_access_level("acme", gitlab.bot.id, OWNER)
        free = await setup_group(config, "acme")
        malformed = await setup_group(config, "acme/")

    assert maintainer == (
        1,
        "",
        "chatops: GitLab answered 403: group webhooks need the Owner role on acme (and GitLab "
        "Premium or Ultimate)\n",
    )
    not_found = (
        "or group webhooks need GitLab Premium or Ultimate (on the Free tier, run "
        "`chatops gitlab setup-project` for each project)\n"
    )
    assert unknown == (
        1,
        "",
        f"chatops: GitLab answered 404: no group nobody that the token can see, {not_found}",
    )
    assert free == (
        1,
        "",
        f"chatops: GitLab answered 404: no group acme that the token can see, {not_found}",
    )
    assert malformed == (1, "", "chatops: expected GROUP or GROUP/SUBGROUP, got 'acme/'\n")
    assert gitlab.hooks.hooks == {}
