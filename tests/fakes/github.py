"""A fake GitHub REST API: a real aiohttp server on 127.0.0.1 that holds clients to the contract.

Every request is matched against the OpenAPI subset in ``tests/fixtures/github/openapi``;
a request the contract does not know, a body that breaks it, an App endpoint called
without a valid App JWT, or an operation the fake has no behaviour for is answered with an
error status AND recorded in ``violations``, so connector tests can assert that list stays
empty. Auth works as on GitHub: ``/app`` endpoints take an RS256 JWT from the App's key;
everything else takes a token the fake knows (``add_token``) or one it minted for an
installation (which expires and only reaches that installation's repositories). An unknown
or expired token gets 401 "Bad credentials" without a violation: that is a state a client
must handle, not a misuse.

It is a ``tests.fakes.server.FakeServer``: one lifecycle, the call log (``calls``, as
requests are answered), ``violations``, and answers and latency scripted per operation
(``fail_next``, ``answer_next``, ``delay``: the route is the operation id, or an
``fnmatch`` pattern over operation ids), applied after auth and the body's contract. Here
the catch-all route is the contract itself: a request matching no operation is the
violation ``no such operation in the contract``. Responses carry GitHub's
``x-ratelimit-*`` headers. The App manifest flow's web pages and code conversion are
served too (``github_manifest``); the App it creates is granted what the manifest asked
for and its webhook points where the manifest said (``set_app``, ``set_app_webhook`` seed
those otherwise, for ``GET /app`` and ``GET /app/hook/config``). The helpers below seed and
inspect state. Layout:
``github_contract`` (the spec), ``github_auth`` (JWTs and tokens), ``github_state`` (what
is remembered), ``github_render`` (JSON shapes, as the spec's schemas name fields),
``github_handlers`` and ``github_ci`` (behaviour per operation). The fake's own tests
check its responses against the schemas.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from tests.fakes.github_auth import Auth
from tests.fakes.github_ci import ci_behaviours
from tests.fakes.github_contract import Contract, Match, default_contract
from tests.fakes.github_handlers import Ctx, Handler, Reply, behaviours
from tests.fakes.github_manifest import ManifestFlow
from tests.fakes.github_render import Render
from tests.fakes.github_secrets import SecretsSeeder, secrets_behaviours
from tests.fakes.github_state import (
    PERMISSIONS,
    CheckRun,
    CommitStatus,
    Delivery,
    Dispatch,
    Grant,
    Hook,
    Installation,
    Job,
    Pull,
    Reaction,
    Rerun,
    Workflow,
    WorkflowRun,
    World,
)
from tests.fakes.server import FakeServer

DEFAULT_INSTALLATION_PERMISSIONS = {
    "actions": "write",
    "checks": "write",
    "issues": "write",
    "metadata": "read",
    "pull_requests": "write",
}


@dataclass(frozen=True)
class Call:
    """One request as the fake saw and answered it.

    ``json`` is the parsed body (None when empty or not JSON); ``auth_scheme`` is the
    lower-cased scheme of ``Authorization`` (``token``/``bearer``), None when absent;
    ``arrived`` is the real monotonic time the request came in (not compared), for tests
    of pacing.
    """

    method: str
    path: str
    operation_id: str | None
    query: dict[str, str]
    json: Any
    auth_scheme: str | None
    user_agent: str | None
    status: int
    arrived: float = field(default=0.0, compare=False)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FakeGitHub(FakeServer[Call]):
    """``async with FakeGitHub(...) as github:`` serves GitHub's REST API at ``github.url``."""

    def __init__(
        self,
        *,
        bot_login: str = "chatops-bot",
        app_id: int | str | None = None,
        app_public_key: str | bytes | RSAPublicKey | None = None,
        app_slug: str = "chatops-bridge",
        token_lifetime: int = 3600,
        clock: Callable[[], datetime] = _utc_now,
        contract: Contract | None = None,
    ) -> None:
        super().__init__()
        self.contract = contract or default_contract()
        self.world = World(
            clock=clock,
            bot_login=bot_login,
            app_id=None if app_id is None else str(app_id),
            app_slug=app_slug,
            rate_reset=int(clock().timestamp()) + 3600,
        )
        self._auth = Auth(self.world, app_public_key)
        self._token_lifetime = token_lifetime
        self._handlers: dict[str, Handler] = {
            **behaviours(),
            **ci_behaviours(),
            **secrets_behaviours(),
        }
        self.secrets = SecretsSeeder(self.world)  # CI secrets and repository files
        # the App manifest flow (tests.fakes.github_manifest): web pages, then the conversion
        self.manifest_flow = ManifestFlow(self.contract, clock, violations=self.violations)
        self.conversions: list[dict[str, Any]] = []  # what each conversion answered
        self._handlers["apps/create-from-manifest"] = self._create_from_manifest

    def routes(self) -> Iterable[web.AbstractRouteDef]:
        return self.manifest_flow.routes()

    def check_route(self, route: str) -> None:
        if not any(wild in route for wild in "*?["):
            self.contract.operation(route)

    # Scripting and inspection of traffic

    def calls_to(self, operation_id: str) -> list[Call]:
        self.contract.operation(operation_id)
        return [call for call in self.calls if call.operation_id == operation_id]

    def add_token(self, token: str, login: str | None = None) -> None:
        """Accept ``token`` (a PAT-like token acting as ``login``, default the bot)."""
        self.world.grants[token] = Grant(login or self.world.bot_login)

    # Comments and reactions

    def comments(self, repo: str, number: int) -> list[str]:
        """Bodies of the issue's or pull's comments (issue and review comments), oldest first."""
        return [comment.body for comment in self.world.thread(repo, number)]

    def seed_comment(self, repo: str, number: int, body: str, author: str) -> int:
        return self.world.add_comment(repo, number, body, author).id

    def seed_review_comment(
        self, repo: str, number: int, body: str, author: str, *, path: str = "README.md"
    ) -> int:
        return self.world.add_comment(repo, number, body, author, kind="review", path=path).id

    @property
    def reactions(self) -> list[Reaction]:
        return [stored.record for stored in self.world.reactions]

    # Permissions and the App

    def set_permission(self, repo: str, login: str, permission: str) -> None:
        if permission not in PERMISSIONS:
            raise ValueError(f"permission must be one of {PERMISSIONS}, not {permission!r}")
        self.world.permissions[(repo, login)] = permission

    def add_installation(
        self,
        installation_id: int,
        account: str,
        repos: Sequence[str],
        *,
        permissions: dict[str, str] | None = None,
    ) -> None:
        """An installation on ``account`` reaching ``repos`` (``name`` or ``owner/name``).

        Its permissions are ``permissions``, else what the App was granted when one was set
        (``set_app``, or an App made from a manifest: an installation accepts what the App
        asks at install time), else ``DEFAULT_INSTALLATION_PERMISSIONS``."""
        granted = self.world.app_permissions or DEFAULT_INSTALLATION_PERMISSIONS
        self.world.installations[installation_id] = Installation(
            id=installation_id,
            account=account,
            repos=[r if "/" in r else f"{account}/{r}" for r in repos],
            permissions=dict(permissions or granted),
            created_at=self.world.clock(),
        )

    def set_app(
        self, *, permissions: dict[str, str] | None = None, events: Sequence[str] | None = None
    ) -> None:
        """The permissions granted to the App and the events it subscribes to (``GET /app``)."""
        if permissions is not None:
            self.world.app_permissions = dict(permissions)
        if events is not None:
            self.world.app_events = list(events)

    def set_app_webhook(
        self, url: str, *, content_type: str = "json", insecure_ssl: str = "0", secret: str = ""
    ) -> None:
        """The App's webhook configuration (``GET /app/hook/config``)."""
        self.world.app_hook_config = {
            "url": url,
            "content_type": content_type,
            "insecure_ssl": insecure_ssl,
            "secret": secret,
        }

    @property
    def tokens_minted(self) -> Counter[int]:
        return self.world.tokens_minted

    # Webhooks and deliveries

    def webhooks(self, repo: str) -> list[Hook]:
        """Stored hooks of ``repo``, secrets included (responses never show them)."""
        return self.world.hooks_of(repo)

    def add_hook(
        self,
        repo: str,
        url: str,
        events: Sequence[str],
        *,
        content_type: str = "json",
        active: bool = True,
    ) -> int:
        """Seed a repository webhook, as if made earlier on GitHub's settings page."""
        now = self.world.clock()
        hook = Hook(
            id=self.world.next_id("hook"),
            repo=repo,
            events=list(events),
            config={"url": url, "content_type": content_type, "insecure_ssl": "0"},
            active=active,
            created_at=now,
            updated_at=now,
        )
        self.world.hooks[hook.id] = hook
        return hook.id

    @property
    def pings(self) -> list[tuple[str, int]]:
        return self.world.pings

    def add_delivery(
        self,
        *,
        guid: str,
        event: str,
        action: str | None = None,
        status_code: int = 200,
        delivered_at: datetime | None = None,
        redelivery: bool = False,
        installation_id: int | None = None,
        repository_id: int | None = None,
        payload: dict[str, Any] | None = None,
    ) -> int:
        delivery = Delivery(
            id=self.world.next_id("delivery"),
            guid=guid,
            event=event,
            action=action,
            status_code=status_code,
            delivered_at=delivered_at or self.world.clock(),
            redelivery=redelivery,
            installation_id=installation_id,
            repository_id=repository_id,
            payload=payload or {},
        )
        self.world.deliveries[delivery.id] = delivery
        return delivery.id

    @property
    def redeliveries(self) -> list[int]:
        return self.world.redeliveries

    # Repositories, pulls and CI

    def add_repo(self, repo: str, private: bool = False) -> None:
        """A repository with nothing in it yet (one with pulls, workflows, installations or
        hooks exists already)."""
        self.world.repos[repo] = private

    def add_pull(
        self,
        repo: str,
        number: int,
        head_sha: str,
        head_ref: str,
        author: str,
        state: str = "open",
        fork: bool = False,
        *,
        base_ref: str = "main",
        title: str | None = None,
        merged: bool = False,
    ) -> None:
        """A pull request; ``merged`` closes it as merged."""
        self.world.pulls[(repo, number)] = Pull(
            repo=repo,
            number=number,
            head_sha=head_sha,
            head_ref=head_ref,
            author=author,
            state=state,
            fork=fork,
            base_ref=base_ref,
            title=title or f"Pull request {number}",
            created_at=self.world.clock(),
            merged=merged,
        )

    def add_check_run(
        self,
        repo: str,
        head_sha: str,
        name: str,
        status: str = "completed",
        conclusion: str | None = "success",
    ) -> int:
        now = self.world.clock()
        run = CheckRun(
            id=self.world.next_id("check_run"),
            repo=repo,
            head_sha=head_sha,
            name=name,
            status=status,
            conclusion=conclusion if status == "completed" else None,
            started_at=now,
            completed_at=now if status == "completed" else None,
        )
        self.world.check_runs[run.id] = run
        return run.id

    def add_status(
        self,
        repo: str,
        sha: str,
        context: str,
        state: str,
        *,
        description: str | None = None,
        target_url: str | None = None,
    ) -> int:
        status = CommitStatus(
            id=self.world.next_id("status"),
            repo=repo,
            sha=sha,
            context=context,
            state=state,
            description=description,
            target_url=target_url,
            created_at=self.world.clock(),
        )
        self.world.statuses.append(status)
        return status.id

    def add_workflow(self, repo: str, name: str, path: str) -> int:
        workflow = Workflow(self.world.next_id("workflow"), repo, name, path, self.world.clock())
        self.world.workflows[workflow.id] = workflow
        return workflow.id

    def add_workflow_run(
        self,
        repo: str,
        workflow_id: int,
        head_sha: str,
        head_branch: str,
        *,
        event: str = "push",
        status: str = "completed",
        conclusion: str | None = "success",
        actor: str | None = None,
    ) -> int:
        now = self.world.clock()
        run = WorkflowRun(
            id=self.world.next_id("run"),
            repo=repo,
            workflow_id=workflow_id,
            head_sha=head_sha,
            head_branch=head_branch,
            event=event,
            status=status,
            conclusion=conclusion if status == "completed" else None,
            run_number=sum(1 for r in self.world.runs.values() if r.repo == repo) + 1,
            actor=actor or self.world.bot_login,
            created_at=now,
            updated_at=now,
        )
        self.world.runs[run.id] = run
        return run.id

    def add_job(
        self,
        run_id: int,
        name: str,
        status: str = "completed",
        conclusion: str | None = "success",
    ) -> int:
        run = self.world.runs[run_id]
        now = self.world.clock()
        job = Job(
            id=self.world.next_id("job"),
            run_id=run_id,
            repo=run.repo,
            name=name,
            status=status,
            conclusion=conclusion if status == "completed" else None,
            started_at=now,
            completed_at=now if status == "completed" else None,
        )
        self.world.jobs[job.id] = job
        return job.id

    def workflow_run(self, run_id: int) -> WorkflowRun:
        return self.world.runs[run_id]

    def start_workflow_run(self, run_id: int) -> None:
        """The run (and its queued jobs) starts: ``in_progress``."""
        run, now = self.world.runs[run_id], self.world.clock()
        run.status, run.conclusion, run.updated_at = "in_progress", None, now
        for job in self._jobs_of(run_id):
            if job.status == "queued":
                job.status, job.started_at = "in_progress", now

    def finish_workflow_run(
        self, run_id: int, conclusion: str, jobs: dict[str, str] | None = None
    ) -> None:
        """The run completes with ``conclusion``; ``jobs`` maps job names to theirs (a name
        the run has no job of is added), and its other unfinished jobs end like the run."""
        run, now = self.world.runs[run_id], self.world.clock()
        named = dict(jobs or {})
        existing = {job.name for job in self._jobs_of(run_id)}
        for name in named:
            if name not in existing:
                self.add_job(run_id, name, status="in_progress", conclusion=None)
        for job in self._jobs_of(run_id):
            if job.name in named or job.status != "completed":
                job.status, job.completed_at = "completed", now
                job.conclusion = named.get(job.name, conclusion)
        run.status, run.conclusion, run.updated_at = "completed", conclusion, now

    def _jobs_of(self, run_id: int) -> list[Job]:
        return [job for job in self.world.jobs.values() if job.run_id == run_id]

    @property
    def dispatches(self) -> list[Dispatch]:
        return self.world.dispatches

    @property
    def reruns(self) -> list[Rerun]:
        return self.world.reruns

    @property
    def cancellations(self) -> list[tuple[str, int]]:
        return self.world.cancellations

    # The App manifest flow

    def _create_from_manifest(self, ctx: Ctx) -> Reply:
        """The App the code stands for, with a fresh key the fake accepts JWTs for from now
        on (it becomes the fake's App, as if a test had passed ``app_public_key``)."""
        submitted = self.manifest_flow.take(ctx.params["code"])
        if submitted is None:
            return Reply(404, {"message": "Not Found"})
        manifest = submitted.manifest
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()
        app_id = 1000 + self.world.next_id("app")
        slug = re.sub(r"[^a-z0-9]+", "-", str(manifest.get("name", "app")).lower()).strip("-")
        self.world.app_id, self.world.app_slug = str(app_id), slug
        self.set_app(
            permissions=dict(manifest.get("default_permissions") or {}),
            events=list(manifest.get("default_events") or []),
        )
        hook = manifest.get("hook_attributes") or {}
        webhook_secret = secrets.token_hex(20) if hook else None
        if hook.get("url"):
            self.set_app_webhook(str(hook["url"]), secret=webhook_secret or "")
        self._auth = Auth(self.world, key.public_key())
        body = {
            **ctx.render.app(),
            "name": manifest.get("name", slug),
            "description": manifest.get("description", ""),
            "external_url": manifest["url"],
            "owner": ctx.render.user(submitted.owner),
            "permissions": dict(manifest.get("default_permissions") or {}),
            "events": list(manifest.get("default_events") or []),
            "installations_count": 0,
            "client_id": f"Iv23li{secrets.token_hex(7)}",
            "client_secret": secrets.token_hex(20),
            "webhook_secret": webhook_secret,
            "pem": pem,
        }
        self.conversions.append(body)
        return Reply(201, body)

    # Serving

    async def unrouted(self, request: web.Request) -> web.StreamResponse:
        """Every API request: the contract is the route table."""
        arrived = time.monotonic()
        raw = await request.read()
        path = request.rel_url.raw_path
        match = self.contract.match(request.method, path)
        if match is None:
            reply = Reply(
                404, {"message": "Not Found"}, violations=("no such operation in the contract",)
            )
        else:
            reply = await self._answer(request, match, raw)
        self.violations += [f"{request.method} {path}: {v}" for v in reply.violations]
        self.world.rate_used += 1
        self.calls.append(
            Call(
                method=request.method,
                path=path,
                operation_id=None if match is None else match.operation.operation_id,
                query=dict(request.query),
                json=_lenient_json(raw),
                auth_scheme=request.headers.get("Authorization", "").partition(" ")[0].lower()
                or None,
                user_agent=request.headers.get("User-Agent"),
                status=reply.status,
                arrived=arrived,
            )
        )
        return self._response(reply)

    async def _answer(self, request: web.Request, match: Match, raw: bytes) -> Reply:
        """Auth, then the body's contract, then latency, scripted failures, behaviour."""
        operation = match.operation
        grant = self._auth.authenticate(operation.template, request.headers.get("Authorization"))
        if isinstance(grant, Reply):
            return grant
        denied = self._auth.out_of_scope(grant, match.params)
        if denied is not None:
            return denied
        body, problems = self.contract.check_body(operation, raw)
        if problems:
            errors = [{"field": p.field, "code": p.code, "message": p.detail} for p in problems]
            invalid = {"message": "Invalid request", "errors": errors}
            return Reply(422, invalid, violations=tuple(p.detail for p in problems))
        await self.wait_delay(operation.operation_id)
        scripted = self.take_answer(operation.operation_id)
        if scripted is not None:
            content = scripted.body
            if content is None:
                content = {"message": HTTPStatus(scripted.status).phrase}
            return Reply(scripted.status, content, dict(scripted.headers))
        handler = self._handlers.get(operation.operation_id)
        if handler is None:
            message = f"no fake behaviour for {operation.operation_id}"
            return Reply(501, {"message": message}, violations=(message,))
        ctx = Ctx(
            world=self.world,
            render=Render(self.url, self.world),
            params=match.params,
            query=dict(request.query),
            body=body,
            grant=grant,
            url=request.url,
            token_lifetime=self._token_lifetime,
        )
        try:
            return handler(ctx)
        except Exception as error:  # a bug in the fake must fail the test, not hang a client
            crash = f"the fake crashed in {operation.operation_id}: {error!r}"
            return Reply(500, {"message": "Server Error"}, violations=(crash,))

    def _response(self, reply: Reply) -> web.Response:
        world = self.world
        headers = {
            "x-ratelimit-limit": str(world.rate_limit),
            "x-ratelimit-remaining": str(max(0, world.rate_limit - world.rate_used)),
            "x-ratelimit-reset": str(world.rate_reset),
            "x-ratelimit-used": str(world.rate_used),
            "x-ratelimit-resource": "core",
            **reply.headers,
        }
        if reply.status == 204:
            return web.Response(status=204, headers=headers)
        text = json.dumps(reply.body)
        return web.Response(
            status=reply.status, text=text, content_type="application/json", headers=headers
        )


def _lenient_json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        return None
