"""Project webhooks on the fake GitLab (docs: "Project webhooks API").

``GET /projects/:id/hooks`` (paginated), ``POST /projects/:id/hooks``, ``GET`` and ``PUT
/projects/:id/hooks/:hook_id``. As on GitLab: managing hooks needs the Maintainer role
(access level 40) or more, else 403; ``url`` is required when adding; an event flag that
is not given keeps its default (``push_events`` true, every other event false,
``enable_ssl_verification`` true) or, on ``PUT``, its current value; the secret ``token``
is stored but never shown in a response.

``FakeGitLab`` mounts the routes and tells them who asks about which project (``Who``), so
this module needs nothing else from it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

API = "/api/v4"
MAINTAINER = 40
EVENT_DEFAULTS = {
    "push_events": True,
    "issues_events": False,
    "confidential_issues_events": False,
    "merge_requests_events": False,
    "tag_push_events": False,
    "note_events": False,
    "confidential_note_events": False,
    "job_events": False,
    "pipeline_events": False,
    "wiki_page_events": False,
    "deployment_events": False,
    "releases_events": False,
    "enable_ssl_verification": True,
}

Who = Callable[[web.Request], tuple[int, int]]  # (project id, user id)


@dataclass
class ProjectHook:
    id: int
    project_id: int
    url: str
    token: str
    flags: dict[str, bool]
    created_at: datetime


@dataclass
class GitLabHookState:
    clock: Callable[[], datetime]
    access_level: Callable[[int, int], int]  # (project id, user id) -> level, 0 for none
    hooks: dict[int, ProjectHook] = field(default_factory=dict)
    writes: int = 0  # POSTs and PUTs that changed something

    def of(self, project_id: int) -> list[ProjectHook]:
        return [hook for hook in self.hooks.values() if hook.project_id == project_id]


def hook_routes(state: GitLabHookState, who: Who) -> list[web.RouteDef]:
    hooks = API + "/projects/{id}/hooks"
    one = hooks + "/{hook_id:\\d+}"
    table: list[tuple[str, str, Callable[..., Awaitable[web.Response]]]] = [
        ("GET", hooks, _list),
        ("POST", hooks, _add),
        ("GET", one, _get),
        ("PUT", one, _edit),
    ]

    def bound(handler: Callable[..., Awaitable[web.Response]]) -> Any:
        async def serve(request: web.Request) -> web.Response:
            project_id, user_id = who(request)
            if state.access_level(project_id, user_id) < MAINTAINER:
                return _json({"message": "403 Forbidden"}, status=403)
            return await handler(state, request, project_id)

        return serve

    return [web.route(method, path, bound(handler)) for method, path, handler in table]


async def _list(state: GitLabHookState, request: web.Request, project_id: int) -> web.Response:
    items = [_render(hook) for hook in state.of(project_id)]
    page = max(1, int(request.query.get("page", "1")))
    per_page = min(100, max(1, int(request.query.get("per_page", "20"))))
    chunk = items[(page - 1) * per_page : page * per_page]
    headers = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(items))}
    if page * per_page < len(items):
        following = request.url.update_query(page=str(page + 1), per_page=str(per_page))
        headers["Link"] = f'<{following}>; rel="next"'
    return _json(chunk, headers=headers)


async def _add(state: GitLabHookState, request: web.Request, project_id: int) -> web.Response:
    body, problem = await _body(request)
    if problem is None and not body.get("url"):
        problem = "url is missing"
    if problem is not None:
        return _json({"error": problem}, status=400)
    flags = {name: bool(body.get(name, default)) for name, default in EVENT_DEFAULTS.items()}
    hook = ProjectHook(
        id=max(state.hooks, default=0) + 1,
        project_id=project_id,
        url=str(body["url"]),
        token=str(body.get("token") or ""),
        flags=flags,
        created_at=state.clock(),
    )
    state.hooks[hook.id] = hook
    state.writes += 1
    return _json(_render(hook), status=201)


async def _get(state: GitLabHookState, request: web.Request, project_id: int) -> web.Response:
    hook = _find(state, request, project_id)
    if hook is None:
        return _json({"message": "404 Not found"}, status=404)
    return _json(_render(hook))


async def _edit(state: GitLabHookState, request: web.Request, project_id: int) -> web.Response:
    hook = _find(state, request, project_id)
    if hook is None:
        return _json({"message": "404 Not found"}, status=404)
    body, problem = await _body(request)
    if problem is not None:
        return _json({"error": problem}, status=400)
    hook.url = str(body.get("url") or hook.url)
    if "token" in body:
        hook.token = str(body["token"] or "")
    hook.flags = {name: bool(body.get(name, value)) for name, value in hook.flags.items()}
    state.writes += 1
    return _json(_render(hook))


async def _body(request: web.Request) -> tuple[dict[str, Any], str | None]:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        return {}, "body is not JSON"
    if not isinstance(body, dict):
        return {}, "body is not an object"
    for name in EVENT_DEFAULTS:
        if name in body and not isinstance(body[name], bool):
            return {}, f"{name} is invalid"
    return body, None


def _find(state: GitLabHookState, request: web.Request, project_id: int) -> ProjectHook | None:
    hook = state.hooks.get(int(request.match_info["hook_id"]))
    return hook if hook is not None and hook.project_id == project_id else None


def _render(hook: ProjectHook) -> dict[str, Any]:
    created = hook.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {
        "id": hook.id,
        "url": hook.url,
        "name": None,
        "description": None,
        "project_id": hook.project_id,
        "push_events_branch_filter": None,
        "alert_status": "executable",
        "created_at": created,
        **hook.flags,
    }


def _json(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", headers=headers
    )
