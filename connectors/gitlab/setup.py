"""``chatops gitlab setup-project GROUP/PROJECT`` and ``setup-group GROUP``: the webhook the
bot needs, on one project or on a whole group.

Through GitLab's webhooks APIs (docs: "Project webhooks API", which needs the Maintainer
role; "Group webhooks API", which needs the group's Owner role and GitLab Premium or
Ultimate: on a Free tier GitLab answers 404) with gidgetlab at ``gitlab.base_url``: the
hook for ``<bot.public_url>/webhooks/gitlab`` sends comments (``note_events``), pipeline
events and merge request events (``NEEDED_EVENTS``, what ``connectors.gitlab`` reads), no
push events (GitLab's default for a new hook is to send them), verifies TLS, and carries
the first of ``gitlab.webhook_tokens`` as its secret token. A group hook sends the events
of every project in the group and its subgroups.

Idempotent: a hook for that URL whose events already match is left alone ("already set
up", no write). GitLab never shows a hook's token, so a changed token cannot be seen:
``force`` writes the hook (and so the token) anyway. A hook for that URL whose events
differ is updated in place; otherwise one is added.

Invariants: the token is never printed; every failure is a ``SetupError`` with one line
for the operator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import aiohttp
from gidgetlab.exceptions import HTTPException as GitLabHTTPException

from bot.config import Config
from connectors.gitlab.api import GitLabApi, project_ref
from connectors.gitlab.integration import ROUTE, requester

# the events the bot reads, and how the output names them
EVENT_WORDS = {
    "note_events": "comments",
    "pipeline_events": "pipeline events",
    "merge_requests_events": "merge request events",
}
NEEDED_EVENTS = tuple(EVENT_WORDS)
HOOK_FLAGS = {
    **dict.fromkeys(NEEDED_EVENTS, True),
    "push_events": False,
    "enable_ssl_verification": True,
}
EVENTS_WORDS = ", ".join(EVENT_WORDS.values())
PREMIUM = "group webhooks need GitLab Premium or Ultimate"
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


class SetupError(Exception):
    """Why the hook could not be set up, in one line for the operator."""


@dataclass(frozen=True, slots=True)
class SetupResult:
    hook_id: int
    outcome: str  # CREATED, UPDATED or UNCHANGED
    url: str
    changed: tuple[str, ...] = ()  # the flags an update set, when it was not forced


async def setup_project(
    config: Config, project: str, session: aiohttp.ClientSession, *, force: bool = False
) -> SetupResult:
    if "/" not in project or not all(project.split("/")):
        raise SetupError(f"expected GROUP/PROJECT, got {project!r}")
    return await _set_up(
        config, f"/projects/{project_ref(project)}/hooks", session, force, _project_refusal(project)
    )


async def setup_group(
    config: Config, group: str, session: aiohttp.ClientSession, *, force: bool = False
) -> SetupResult:
    if not group or not all(group.split("/")):
        raise SetupError(f"expected GROUP or GROUP/SUBGROUP, got {group!r}")
    return await _set_up(
        config, f"/groups/{project_ref(group)}/hooks", session, force, _group_refusal(group)
    )


async def _set_up(
    config: Config,
    hooks: str,
    session: aiohttp.ClientSession,
    force: bool,
    refusal: Callable[[int], str],
) -> SetupResult:
    settings = config.gitlab
    if settings.token is None:
        raise SetupError("set gitlab.token to the token the bot uses (scope api, Maintainer)")
    if not settings.webhook_tokens:
        raise SetupError("set gitlab.webhook_tokens: the first one becomes the hook's token")
    url = config.bot.public_url.rstrip("/") + ROUTE
    api = GitLabApi(
        session,
        base_url=settings.base_url,
        token=settings.token.reveal(),
        requester=requester(config.bot),
    )
    body: dict[str, Any] = {
        "url": url,
        "token": settings.webhook_tokens[0].reveal(),
        **HOOK_FLAGS,
    }
    try:
        existing = await _hook_for(api, hooks, url)
        if existing is None:
            hook = await api.post(hooks, data=body)
            return SetupResult(int(hook["id"]), CREATED, url)
        changed = tuple(name for name, value in HOOK_FLAGS.items() if existing.get(name) != value)
        hook_id = int(existing["id"])
        if not changed and not force:
            return SetupResult(hook_id, UNCHANGED, url)
        await api.put(f"{hooks}/{hook_id}", data=body)
        return SetupResult(hook_id, UPDATED, url, changed)
    except GitLabHTTPException as exc:
        raise SetupError(refusal(int(exc.status_code))) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise SetupError(f"cannot reach GitLab at {settings.base_url}: {exc}") from exc


async def _hook_for(api: GitLabApi, hooks: str, url: str) -> dict[str, Any] | None:
    async for hook in api.getiter(hooks):
        if isinstance(hook, dict) and hook.get("url") == url:
            return hook
    return None


def _project_refusal(project: str) -> Callable[[int], str]:
    def refusal(status: int) -> str:
        if status == 403:
            return f"GitLab answered 403: the token's user needs the Maintainer role on {project}"
        if status == 404:
            return f"GitLab answered 404: no project {project}, or the token cannot see it"
        if status == 401:
            return "GitLab answered 401: check gitlab.token"
        return f"GitLab answered {status} for the webhooks of {project}"

    return refusal


def _group_refusal(group: str) -> Callable[[int], str]:
    def refusal(status: int) -> str:
        if status == 403:
            return (
                f"GitLab answered 403: group webhooks need the Owner role on {group} "
                f"(and GitLab Premium or Ultimate)"
            )
        if status == 404:
            return (
                f"GitLab answered 404: no group {group} that the token can see, or {PREMIUM} "
                "(on the Free tier, run `chatops gitlab setup-project` for each project)"
            )
        if status == 401:
            return "GitLab answered 401: check gitlab.token"
        return f"GitLab answered {status} for the webhooks of group {group}"

    return refusal


def describe(result: SetupResult, where_to: str, out: TextIO) -> None:
    """One line for the operator; ``where_to`` names the project, or ``group GROUP``."""
    where = f"webhook {result.hook_id} on {where_to} for {result.url}"
    if result.outcome == UNCHANGED:
        print(
            f"{where} is already set up ({EVENTS_WORDS}); nothing written. GitLab does not "
            "show a hook's token: after changing gitlab.webhook_tokens, run again with --force",
            file=out,
        )
        return
    why = f" (changed: {', '.join(result.changed)})" if result.changed else ""
    print(
        f"{result.outcome} {where}{why}: {EVENTS_WORDS}; its secret token is the first of "
        "gitlab.webhook_tokens",
        file=out,
    )
