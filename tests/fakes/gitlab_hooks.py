"""Project and group webhooks on the fake GitLab (docs: "Project webhooks API", "Group
webhooks API").

``GET /projects/:id/hooks`` (paginated), ``POST /projects/:id/hooks``, ``GET`` and ``PUT
/projects/:id/hooks/:hook_id``; the same four under ``/groups/:id/hooks``, the group named
by its id or its URL-encoded full path. As on GitLab: managing a project's hooks needs the
Maintainer role (access level 40) or more, a group's the Owner role (50), else 403; group
hooks exist only on Premium and Ultimate (``premium``; otherwise every group hook route
answers 404, as a Free instance has no such route), and an unknown group is a 404 too;
``url`` is required when adding; an event flag that is not given keeps its default
(``push_events`` true, every other event false, ``enable_ssl_verification`` true) or, on
``PUT``, its current value; the secret ``token`` is stored but never shown in a response.

``FakeGitLab`` mounts the routes and tells them who asks about which project (``Who``) and
who asks at all (``UserOf``), so this module needs nothing else from it. Groups and their
members are kept here (``add_group``, ``set_group_access_level``).
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

API = "/api/v4"
MAINTAINER = 40
OWNER = 50
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
UserOf = Callable[[web.Request], int]  # the authenticated user's id


@dataclass
class ProjectHook:
    """A project's hook (``group_id`` None) or a group's (``project_id`` 0)."""

    id: int
    project_id: int
    url: str
    token: str
    flags: dict[str, bool]
    created_at: datetime
    group_id: int | None = None


@dataclass
class GitLabHookState:
    clock: Callable[[], datetime]
    access_level: Callable[[int, int], int]  # (project id, user id) -> level, 0 for none
    hooks: dict[int, ProjectHook] = field(default_factory=dict)
    writes: int = 0  # POSTs and PUTs that changed something
    premium: bool = True  # False: a Free tier, where group webhooks do not exist
    groups: dict[int, str] = field(default_factory=dict)  # id -> full path
    group_members: dict[tuple[int, int], int] = field(default_factory=dict)

    def of(self, project_id: int) -> list[ProjectHook]:
        return [
            hook
            for hook in self.hooks.values()
            if hook.project_id == project_id and hook.group_id is None
        ]

    def of_group(self, group_id: int) -> list[ProjectHook]:
        return [hook for hook in self.hooks.values() if hook.group_id == group_id]

    def add_group(self, full_path: str, *, group_id: int | None = None) -> int:
        gid = group_id if group_id is not None else 2000 + len(self.groups) + 1
        self.groups[gid] = full_path
        return gid

    def group(self, ref: str) -> int | None:
        if ref.isdigit():
            return int(ref) if int(ref) in self.groups else None
        return next((gid for gid, path in self.groups.items() if path == ref), None)

    def set_group_access_level(self, group: str, user_id: int, level: int) -> None:
        gid = self.group(group)
        if gid is None:
            raise KeyError(group)
        self.group_members[(gid, user_id)] = level

    def add_hook(
        self, url: str, flags: dict[str, bool], *, project_id: int = 0, group_id: int | None = None
    ) -> ProjectHook:
        """Seed a hook as if added earlier: ``flags`` over GitLab's defaults."""
        hook = ProjectHook(
            id=max(self.hooks, default=0) + 1,
            project_id=project_id,
            url=url,
            token="",
            flags={**EVENT_DEFAULTS, **flags},
            created_at=self.clock(),
            group_id=group_id,
        )
        self.hooks[hook.id] = hook
        return hook


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


def group_hook_routes(state: GitLabHookState, user_of: UserOf) -> list[web.RouteDef]:
    """The group webhooks API: a group hook is a ``ProjectHook`` with ``group_id`` set."""
    hooks = API + "/groups/{group}/hooks"
    one = hooks + "/{hook_id:\\d+}"
    table: list[tuple[str, str, Callable[..., Awaitable[web.Response]]]] = [
        ("GET", hooks, _list),
        ("POST", hooks, _add),
        ("GET", one, _get),
        ("PUT", one, _edit),
    ]

    def bound(handler: Callable[..., Awaitable[web.Response]]) -> Any:
        async def serve(request: web.Request) -> web.Response:
            if not state.premium:
                return _json({"error": "404 Not Found"}, status=404)
            gid = state.group(_decoded(request.match_info["group"]))
            if gid is None:
                return _json({"message": "404 Group Not Found"}, status=404)
            if state.group_members.get((gid, user_of(request)), 0) < OWNER:
                return _json({"message": "403 Forbidden"}, status=403)
            return await handler(state, request, 0, group_id=gid)

        return serve

    return [web.route(method, path, bound(handler)) for method, path, handler in table]


async def _list(
    state: GitLabHookState, request: web.Request, project_id: int, group_id: int | None = None
) -> web.Response:
    hooks = state.of(project_id) if group_id is None else state.of_group(group_id)
    items = [_render(hook) for hook in hooks]
    page = max(1, int(request.query.get("page", "1")))
    per_page = min(100, max(1, int(request.query.get("per_page", "20"))))
    chunk = items[(page - 1) * per_page : page * per_page]
    headers = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(items))}
    if page * per_page < len(items):
        following = request.url.update_query(page=str(page + 1), per_page=str(per_page))
        headers["Link"] = f'<{following}>; rel="next"'
    return _json(chunk, headers=headers)


async def _add(
    state: GitLabHookState, request: web.Request, project_id: int, group_id: int | None = None
) -> web.Response:
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
        group_id=group_id,
    )
    state.hooks[hook.id] = hook
    state.writes += 1
    return _json(_render(hook), status=201)


async def _get(
    state: GitLabHookState, request: web.Request, project_id: int, group_id: int | None = None
) -> web.Response:
    hook = _find(state, request, project_id, group_id)
    if hook is None:
        return _json({"message": "404 Not found"}, status=404)
    return _json(_render(hook))


async def _edit(
    state: GitLabHookState, request: web.Request, project_id: int, group_id: int | None = None
) -> web.Response:
    hook = _find(state, request, project_id, group_id)
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


def _find(
    state: GitLabHookState, request: web.Request, project_id: int, group_id: int | None
) -> ProjectHook | None:
    hook = state.hooks.get(int(request.match_info["hook_id"]))
    if hook is None or (hook.project_id, hook.group_id) != (project_id, group_id):
        return None
    return hook


def _render(hook: ProjectHook) -> dict[str, Any]:
    created = hook.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    owner = (
        {"project_id": hook.project_id} if hook.group_id is None else {"group_id": hook.group_id}
    )
    return {
        "id": hook.id,
        "url": hook.url,
        "name": None,
        "description": None,
        **owner,
        "push_events_branch_filter": None,
        "alert_status": "executable",
        "created_at": created,
        **hook.flags,
    }


def _decoded(ref: str) -> str:
    return urllib.parse.unquote(ref)


def _json(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", headers=headers
    )
