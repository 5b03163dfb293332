"""A fake GitLab REST API (``/api/v4``): a real aiohttp server on 127.0.0.1, port 0.

The real gidgetlab client reaches it through its base URL. What it serves:

- **Auth** (middleware, every route): ``PRIVATE-TOKEN: <token>`` or ``Authorization: Bearer
  <token>`` naming a token the fake knows (``add_token``; the constructor's ``token`` acts as
  the bot user); anything else gets 401 ``{"message": "401 Unauthorized"}``.
- **Scripted errors and delays** (``fail_next``, ``answer_next``, ``delay`` of
  ``tests.fakes.server.FakeServer``): the route is an ``fnmatch`` pattern over
  ``"METHOD /decoded/path"`` (``"POST /api/v4/projects/g/p/*"``, ``"*"`` for every
  request); matching requests get that status, headers (``Retry-After``,
  ``RateLimit-Reset``...) and body instead, after auth.
- **Projects** by numeric id or URL-encoded ``path_with_namespace`` (``group%2Fproject``):
  for every ``/api/v4/projects/{id}/...`` route the middleware resolves ``{id}`` and puts the
  ``Project`` in ``request[PROJECT_KEY]`` (unknown -> 404 ``404 Project Not Found``), and the
  authenticated ``User`` in ``request[USER_KEY]``, so CI routes (``tests.fakes.gitlab_ci``)
  need not know how projects are named.
- **Members**: ``GET /projects/:id/members/all/:user_id`` (404 for non-members).
- **Project and group webhooks** (``tests.fakes.gitlab_hooks``): list, add, get, edit;
  Maintainer only on a project, Owner only on a group (``hooks.add_group``,
  ``hooks.set_group_access_level``), group hooks only while ``hooks.premium``.
- **Notes** on merge requests and issues: create, list (paginated, ``Link`` header), edit;
  **award emoji** on notes: create (404 "... has already been taken" when the user already
  awarded that name, as GitLab answers), list.

Every request is recorded in ``calls`` as it is answered (status included). Responses carry
GitLab's ``RateLimit-*`` headers. A request to a route not served here (above, the CI and
hook routes) is answered 404 ``{"error": "404 Not Found"}``, as GitLab does, and recorded
in ``violations`` whatever its credentials. What it deliberately does not do: check
request bodies against a schema.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aiohttp import web

from tests.fakes.gitlab_ci import GitLabCiState, ci_routes
from tests.fakes.gitlab_hooks import GitLabHookState, group_hook_routes, hook_routes
from tests.fakes.server import FakeServer

API = "/api/v4"
PROJECT_KEY = web.RequestKey("gitlab_project", object)
USER_KEY = web.RequestKey("gitlab_user", object)
_PROJECT_PATH = re.compile(r"^/api/v4/projects/([^/]+)(?:/|$)")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Call:
    """One request as the fake saw and answered it.

    ``path`` is the raw (still URL-encoded) path; ``json`` the parsed body (None when empty
    or not JSON); ``auth`` is ``"private-token"``, ``"bearer"`` or None.
    """

    method: str
    path: str
    query: dict[str, str]
    json: Any
    auth: str | None
    status: int


@dataclass(frozen=True)
class User:
    id: int
    username: str
    name: str
    bot: bool = False


@dataclass(frozen=True)
class Project:
    id: int
    path_with_namespace: str


@dataclass
class Note:
    id: int
    project_id: int
    noteable_type: str  # "MergeRequest" or "Issue"
    noteable_iid: int
    body: str
    author: User
    created_at: datetime
    updated_at: datetime
    system: bool = False


@dataclass(frozen=True)
class Award:
    id: int
    note_id: int
    name: str
    user: User
    created_at: datetime


@dataclass
class GitLabWorld:
    """Plain state: users, tokens, projects, members, notes, awards, id counters."""

    clock: Callable[[], datetime]
    users: dict[int, User] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    projects: dict[int, Project] = field(default_factory=dict)
    members: dict[tuple[int, int], int] = field(default_factory=dict)
    notes: dict[int, Note] = field(default_factory=dict)
    awards: list[Award] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    def next_id(self, kind: str, start: int = 1) -> int:
        self.counters[kind] = self.counters.get(kind, start - 1) + 1
        return self.counters[kind]

    def project(self, ref: str) -> Project | None:
        if ref.isdigit():
            return self.projects.get(int(ref))
        return next((p for p in self.projects.values() if p.path_with_namespace == ref), None)


def _utc_now() -> datetime:
    return datetime.now(UTC)


NOTEABLES = {"merge_requests": "MergeRequest", "issues": "Issue"}


class FakeGitLab(FakeServer[Call]):
    """``async with FakeGitLab(token=...) as gitlab:`` serves ``/api/v4`` at ``gitlab.url``."""

    def __init__(
        self,
        *,
        token: str = "glpat-bot-token",
        bot_username: str = "chatops-bot",
        bot_user_id: int = 900,
        clock: Callable[[], datetime] = _utc_now,
        rate_limit: int = 2000,
    ) -> None:
        super().__init__()
        self.world = GitLabWorld(clock=clock)
        self.ci = GitLabCiState(clock=clock)
        self.hooks = GitLabHookState(clock=clock, access_level=self._access_level)
        self.bot = self.add_user(bot_username, user_id=bot_user_id, bot=True)
        self.world.tokens[token] = self.bot.id
        self.rate_limit = rate_limit

    # The server (``url`` is the base URL a client is configured with; ``/api/v4`` is below)

    def routes(self) -> Iterable[web.AbstractRouteDef]:
        return [
            *self._routes(),
            *ci_routes(self.ci),
            *hook_routes(self.hooks, _who),
            *group_hook_routes(self.hooks, _user_id),
        ]

    def middlewares(self) -> Iterable[Any]:
        return [self._middleware]

    def route_key(self, request: web.Request) -> str:
        return f"{request.method} {_decoded(request.rel_url.raw_path)}"

    def error(self, request: web.Request, status: int) -> web.StreamResponse:
        return _json({"message": f"{status} {HTTPStatus(status).phrase}"}, status=status)

    async def unrouted(self, request: web.Request) -> web.StreamResponse:
        self.violation(request, "no such route")
        return _json({"error": "404 Not Found"}, status=404)

    # Seeding and inspection

    def add_user(self, username: str, *, user_id: int | None = None, bot: bool = False) -> User:
        uid = user_id if user_id is not None else self.world.next_id("user", start=100)
        user = User(id=uid, username=username, name=username.title(), bot=bot)
        self.world.users[uid] = user
        return user

    def add_token(self, token: str, user: User) -> None:
        self.world.tokens[token] = user.id

    def add_project(self, path: str, *, project_id: int | None = None) -> Project:
        pid = project_id if project_id is not None else self.world.next_id("project", 1000)
        project = Project(id=pid, path_with_namespace=path)
        self.world.projects[pid] = project
        return project

    def project(self, ref: str | int) -> Project:
        found = self.world.project(str(ref))
        if found is None:
            raise KeyError(ref)
        return found

    def set_access_level(self, project: str | int, user: User, level: int) -> None:
        """Make ``user`` a member of ``project`` with ``level`` (0 removes them)."""
        key = (self.project(project).id, user.id)
        if level:
            self.world.members[key] = level
        else:
            self.world.members.pop(key, None)

    def seed_note(
        self,
        project: str | int,
        thread: str,
        body: str,
        author: User,
        *,
        system: bool = False,
    ) -> Note:
        """A note in ``thread`` (``"merge_requests/5"`` or ``"issues/3"``)."""
        kind, _, iid = thread.partition("/")
        return self._add_note(
            self.project(project), NOTEABLES[kind], int(iid), body, author, system
        )

    def notes(self, project: str | int, thread: str) -> list[Note]:
        """The thread's notes, oldest first."""
        kind, _, iid = thread.partition("/")
        pid = self.project(project).id
        return [
            note
            for note in self.world.notes.values()
            if (note.project_id, note.noteable_type, note.noteable_iid)
            == (pid, NOTEABLES[kind], int(iid))
        ]

    def note_bodies(self, project: str | int, thread: str) -> list[str]:
        return [note.body for note in self.notes(project, thread)]

    @property
    def awards(self) -> list[Award]:
        return list(self.world.awards)

    def calls_matching(self, method: str, path: str) -> list[Call]:
        """Calls with this method whose decoded path matches the ``fnmatch`` pattern."""
        return [
            call
            for call in self.calls
            if call.method == method and fnmatch.fnmatchcase(_decoded(call.path), path)
        ]

    def _access_level(self, project_id: int, user_id: int) -> int:
        return self.world.members.get((project_id, user_id), 0)

    # Serving

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        raw = await request.read()
        response = await self._answer(request, handler)
        self.calls.append(
            Call(
                method=request.method,
                path=request.rel_url.raw_path,
                query=dict(request.query),
                json=_lenient_json(raw),
                auth=_auth_scheme(request),
                status=response.status,
            )
        )
        for name, value in self._rate_headers().items():
            response.headers.setdefault(name, value)  # scripted headers win
        return response

    async def _answer(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.is_unrouted(request):
            return await handler(request)  # a violation, whatever the credentials
        user = self._authenticate(request)
        if user is None:
            return _json({"message": "401 Unauthorized"}, status=401)
        request[USER_KEY] = user
        key = self.route_key(request)
        await self.wait_delay(key)
        scripted = self.take_answer(key)
        if scripted is not None:
            if scripted.body is None:
                answer = self.error(request, scripted.status)
                answer.headers.update(scripted.headers)
                return answer
            return _json(scripted.body, status=scripted.status, headers=dict(scripted.headers))
        matched = _PROJECT_PATH.match(request.rel_url.raw_path)
        if matched is not None:
            project = self.world.project(_decoded(matched.group(1)))
            if project is None:
                return _json({"message": "404 Project Not Found"}, status=404)
            request[PROJECT_KEY] = project
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as error:  # a bug in the fake must fail the test, not hang a client
            return _json({"message": f"500 fake crashed: {error!r}"}, status=500)

    def _authenticate(self, request: web.Request) -> User | None:
        token = request.headers.get("PRIVATE-TOKEN")
        if token is None:
            scheme, _, value = request.headers.get("Authorization", "").partition(" ")
            token = value if scheme.lower() == "bearer" else None
        uid = self.world.tokens.get(token) if token else None
        return None if uid is None else self.world.users[uid]

    def _rate_headers(self) -> dict[str, str]:
        reset = int(self.world.clock().timestamp()) + 60
        used = len(self.calls)
        return {
            "RateLimit-Limit": str(self.rate_limit),
            "RateLimit-Observed": str(used),
            "RateLimit-Remaining": str(max(0, self.rate_limit - used)),
            "RateLimit-Reset": str(reset),
        }

    def _routes(self) -> list[web.RouteDef]:
        notes = API + "/projects/{id}/{kind:merge_requests|issues}/{iid:\\d+}/notes"
        return [
            web.get(API + "/projects/{id}", self._get_project),
            web.get(API + "/projects/{id}/members/all/{user_id:\\d+}", self._get_member),
            web.get(API + "/user", self._get_current_user),
            web.get(notes, self._list_notes),
            web.post(notes, self._create_note),
            web.get(notes + "/{note_id:\\d+}", self._get_note),
            web.put(notes + "/{note_id:\\d+}", self._edit_note),
            web.get(notes + "/{note_id:\\d+}/award_emoji", self._list_awards),
            web.post(notes + "/{note_id:\\d+}/award_emoji", self._create_award),
        ]

    # Behaviour

    async def _get_project(self, request: web.Request) -> web.Response:
        project = _project(request)
        return _json({"id": project.id, "path_with_namespace": project.path_with_namespace})

    async def _get_current_user(self, request: web.Request) -> web.Response:
        return _json(_render_user(_user(request)))

    async def _get_member(self, request: web.Request) -> web.Response:
        project, uid = _project(request), int(request.match_info["user_id"])
        level = self.world.members.get((project.id, uid))
        if level is None or uid not in self.world.users:
            return _json({"message": "404 Not found"}, status=404)
        return _json({**_render_user(self.world.users[uid]), "access_level": level})

    async def _list_notes(self, request: web.Request) -> web.Response:
        notes = [_render_note(note) for note in self._thread_notes(request)]
        if request.query.get("sort", "desc") == "desc":
            notes.reverse()
        return _paginated(request, notes)

    async def _create_note(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        text = body.get("body") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text:
            return _json({"message": "400 Bad request - body is missing"}, status=400)
        if len(text) > 1_000_000:
            return _json(
                {"message": {"note": ["is too long (maximum is 1000000 characters)"]}}, status=400
            )
        kind, iid = request.match_info["kind"], int(request.match_info["iid"])
        note = self._add_note(_project(request), NOTEABLES[kind], iid, text, _user(request), False)
        return _json(_render_note(note), status=201)

    async def _get_note(self, request: web.Request) -> web.Response:
        note = self._find_note(request)
        if note is None:
            return _json({"message": "404 Not found"}, status=404)
        return _json(_render_note(note))

    async def _edit_note(self, request: web.Request) -> web.Response:
        note = self._find_note(request)
        if note is None:
            return _json({"message": "404 Not found"}, status=404)
        if note.author.id != _user(request).id:
            return _json({"message": "403 Forbidden"}, status=403)
        body = await _json_body(request)
        text = body.get("body") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text:
            return _json({"message": "400 Bad request - body is missing"}, status=400)
        note.body, note.updated_at = text, self.world.clock()
        return _json(_render_note(note))

    async def _list_awards(self, request: web.Request) -> web.Response:
        note = self._find_note(request)
        if note is None:
            return _json({"message": "404 Not found"}, status=404)
        awards = [_render_award(a, note) for a in self.world.awards if a.note_id == note.id]
        return _paginated(request, awards)

    async def _create_award(self, request: web.Request) -> web.Response:
        note = self._find_note(request)
        if note is None:
            return _json({"message": "404 Not found"}, status=404)
        body = await _json_body(request)
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name:
            return _json({"message": "400 Bad request - name is missing"}, status=400)
        user = _user(request)
        if any(
            a.note_id == note.id and a.name == name and a.user == user for a in self.world.awards
        ):
            # GitLab answers a repeated award with not_found!("Award Emoji <errors>")
            message = "404 Award Emoji Name has already been taken Not Found"
            return _json({"message": message}, status=404)
        award = Award(self.world.next_id("award"), note.id, name, user, self.world.clock())
        self.world.awards.append(award)
        return _json(_render_award(award, note), status=201)

    # State helpers

    def _add_note(
        self, project: Project, noteable_type: str, iid: int, body: str, author: User, system: bool
    ) -> Note:
        now = self.world.clock()
        note = Note(
            id=self.world.next_id("note", start=5000),
            project_id=project.id,
            noteable_type=noteable_type,
            noteable_iid=iid,
            body=body,
            author=author,
            created_at=now,
            updated_at=now,
            system=system,
        )
        self.world.notes[note.id] = note
        return note

    def _thread_notes(self, request: web.Request) -> list[Note]:
        key = (
            _project(request).id,
            NOTEABLES[request.match_info["kind"]],
            int(request.match_info["iid"]),
        )
        return [
            note
            for note in self.world.notes.values()
            if (note.project_id, note.noteable_type, note.noteable_iid) == key
        ]

    def _find_note(self, request: web.Request) -> Note | None:
        wanted = int(request.match_info["note_id"])
        return next((n for n in self._thread_notes(request) if n.id == wanted), None)


# Rendering (the fields GitLab documents that clients here read)


def _render_user(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "state": "active",
        "bot": user.bot,
    }


def _render_note(note: Note) -> dict[str, Any]:
    return {
        "id": note.id,
        "type": None,
        "body": note.body,
        "author": _render_user(note.author),
        "created_at": _iso(note.created_at),
        "updated_at": _iso(note.updated_at),
        "system": note.system,
        "noteable_type": note.noteable_type,
        "noteable_iid": note.noteable_iid,
        "project_id": note.project_id,
        "resolvable": False,
        "confidential": False,
        "internal": False,
    }


def _render_award(award: Award, note: Note) -> dict[str, Any]:
    return {
        "id": award.id,
        "name": award.name,
        "user": _render_user(award.user),
        "created_at": _iso(award.created_at),
        "updated_at": _iso(award.created_at),
        "awardable_id": note.id,
        "awardable_type": "Note",
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# Plumbing


def _project(request: web.Request) -> Project:
    project = request[PROJECT_KEY]
    assert isinstance(project, Project)
    return project


def _user(request: web.Request) -> User:
    user = request[USER_KEY]
    assert isinstance(user, User)
    return user


def _who(request: web.Request) -> tuple[int, int]:
    return _project(request).id, _user(request).id


def _user_id(request: web.Request) -> int:
    return _user(request).id


def _paginated(request: web.Request, items: list[Any]) -> web.Response:
    """GitLab's offset pagination: ``page``/``per_page`` (default 20, max 100), ``Link``."""
    page = max(1, int(request.query.get("page", "1")))
    per_page = min(100, max(1, int(request.query.get("per_page", "20"))))
    chunk = items[(page - 1) * per_page : page * per_page]
    headers = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(items))}
    if page * per_page < len(items):
        following = request.url.update_query(page=str(page + 1), per_page=str(per_page))
        headers["Link"] = f'<{following}>; rel="next"'
        headers["X-Next-Page"] = str(page + 1)
    return _json(chunk, headers=headers)


async def _json_body(request: web.Request) -> Any:
    return _lenient_json(await request.read())


def _json(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", headers=headers
    )


def _decoded(raw_path: str) -> str:
    return raw_path.replace("%2F", "/").replace("%2f", "/")


def _auth_scheme(request: web.Request) -> str | None:
    if "PRIVATE-TOKEN" in request.headers:
        return "private-token"
    scheme = request.headers.get("Authorization", "").partition(" ")[0].lower()
    return scheme or None


def _lenient_json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        return None
