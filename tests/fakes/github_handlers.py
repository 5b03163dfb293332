"""What the fake GitHub does for each operation it has behaviour for.

A handler gets a ``Ctx`` (the matched request, already authenticated and contract-checked)
and returns a ``Reply``; ``behaviours()`` maps operation ids to handlers. A handler that
sees a client mistake the contract cannot express (an App-only endpoint called with a user
token, say) puts it in ``Reply.violations``. List endpoints page like GitHub: ``per_page``
(default 30, at most 100) and ``page`` with a ``Link`` header, or a ``cursor`` for deliveries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from yarl import URL

from tests.fakes.github_render import Render, iso
from tests.fakes.github_state import (
    Grant,
    Hook,
    Reaction,
    World,
)

LEGACY_PERMISSION = {"maintain": "write", "triage": "read"}


@dataclass(frozen=True)
class Reply:
    """A response; 204 is sent without a body whatever ``body`` holds."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    violations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ctx:
    world: World
    render: Render
    params: dict[str, Any]
    query: dict[str, str]
    body: Any
    grant: Grant
    url: URL
    token_lifetime: int

    @property
    def repo(self) -> str:
        return f"{self.params['owner']}/{self.params['repo']}"

    def get(self, name: str, default: Any = None) -> Any:
        """A top-level field of the JSON body (already checked against the contract)."""
        return self.body.get(name, default) if isinstance(self.body, dict) else default

    def number(self, name: str, default: int) -> int:
        try:
            return int(self.query.get(name, default))
        except ValueError:
            return default


Handler = Callable[[Ctx], Reply]


def not_found(message: str = "Not Found") -> Reply:
    return Reply(404, {"message": message})


def paged(ctx: Ctx, items: Sequence[Any], wrap: str | None = None) -> Reply:
    """One page of ``items``, as a list or as ``{"total_count", wrap: [...]}``."""
    per_page = max(1, min(ctx.number("per_page", 30), 100))
    page = max(1, ctx.number("page", 1))
    last = max(1, -(-len(items) // per_page))
    chunk = list(items[(page - 1) * per_page : page * per_page])
    rels = [("prev", page - 1)] if page > 1 else []
    rels += [("next", page + 1), ("last", last)] if page < last else []
    rels += [("first", 1)] if page > 1 else []
    parts = [f'<{ctx.url.update_query(page=number)}>; rel="{rel}"' for rel, number in rels]
    headers = {"Link": ", ".join(parts)} if parts else {}
    body: Any = chunk if wrap is None else {"total_count": len(items), wrap: chunk}
    return Reply(200, body, headers)


# Issue and review comments


def create_comment(ctx: Ctx) -> Reply:
    comment = ctx.world.add_comment(
        ctx.repo, ctx.params["issue_number"], ctx.get("body"), ctx.grant.login
    )
    return Reply(201, ctx.render.issue_comment(comment))


def list_comments(ctx: Ctx) -> Reply:
    comments = ctx.world.thread(ctx.repo, ctx.params["issue_number"], "issue")
    since = ctx.query.get("since")
    if since is not None:
        comments = [c for c in comments if (iso(c.updated_at) or "") >= since]
    return paged(ctx, [ctx.render.issue_comment(c) for c in comments])


def get_comment(ctx: Ctx) -> Reply:
    comment = ctx.world.comment(ctx.repo, ctx.params["comment_id"], "issue")
    return not_found() if comment is None else Reply(200, ctx.render.issue_comment(comment))


def update_comment(ctx: Ctx) -> Reply:
    comment = ctx.world.comment(ctx.repo, ctx.params["comment_id"], "issue")
    if comment is None:
        return not_found()
    comment.body = ctx.get("body")
    comment.updated_at = ctx.world.clock()
    return Reply(200, ctx.render.issue_comment(comment))


def delete_comment(ctx: Ctx) -> Reply:
    comment = ctx.world.comment(ctx.repo, ctx.params["comment_id"], "issue")
    if comment is None:
        return not_found()
    del ctx.world.comments[comment.id]
    ctx.world.reactions = [
        r
        for r in ctx.world.reactions
        if (r.record.repo, r.record.kind, r.record.id) != (ctx.repo, "issue_comment", comment.id)
    ]
    return Reply(204)


def reply_to_review_comment(ctx: Ctx) -> Reply:
    parent = ctx.world.comment(ctx.repo, ctx.params["comment_id"], "review")
    if parent is None or parent.number != ctx.params["pull_number"]:
        return not_found()
    reply = ctx.world.add_comment(
        ctx.repo,
        parent.number,
        ctx.get("body"),
        ctx.grant.login,
        kind="review",
        path=parent.path,
        commit_id=parent.commit_id,
        in_reply_to=parent.in_reply_to or parent.id,
    )
    return Reply(201, ctx.render.review_comment(reply))


# Reactions


def _react(ctx: Ctx, kind: str, subject: int) -> Reply:
    record = Reaction(ctx.repo, kind, subject, ctx.get("content"), ctx.grant.login)
    stored, created = ctx.world.react(record)
    return Reply(201 if created else 200, ctx.render.reaction(stored))


def react_to_issue_comment(ctx: Ctx) -> Reply:
    comment = ctx.world.comment(ctx.repo, ctx.params["comment_id"], "issue")
    return not_found() if comment is None else _react(ctx, "issue_comment", comment.id)


def react_to_review_comment(ctx: Ctx) -> Reply:
    comment = ctx.world.comment(ctx.repo, ctx.params["comment_id"], "review")
    return (
        not_found() if comment is None else _react(ctx, "pull_request_review_comment", comment.id)
    )


def react_to_issue(ctx: Ctx) -> Reply:
    return _react(ctx, "issue", ctx.params["issue_number"])


def _comment_reactions(ctx: Ctx) -> list[Any]:
    key = (ctx.repo, "issue_comment", ctx.params["comment_id"])
    return [r for r in ctx.world.reactions if (r.record.repo, r.record.kind, r.record.id) == key]


def list_comment_reactions(ctx: Ctx) -> Reply:
    if ctx.world.comment(ctx.repo, ctx.params["comment_id"], "issue") is None:
        return not_found()
    content = ctx.query.get("content")
    reactions = [r for r in _comment_reactions(ctx) if content in (None, r.record.content)]
    return paged(ctx, [ctx.render.reaction(r) for r in reactions])


def delete_comment_reaction(ctx: Ctx) -> Reply:
    found = [r for r in _comment_reactions(ctx) if r.reaction_id == ctx.params["reaction_id"]]
    if not found:
        return not_found()
    ctx.world.reactions.remove(found[0])
    return Reply(204)


# Permissions and users


def get_permission(ctx: Ctx) -> Reply:
    login = ctx.params["username"]
    level = ctx.world.permissions.get((ctx.repo, login))
    if level is None:
        return not_found(f"{login} is not a user")
    return Reply(
        200,
        {
            "permission": LEGACY_PERMISSION.get(level, level),
            "role_name": level,
            "user": ctx.render.collaborator(login, level),
        },
    )


def get_authenticated_user(ctx: Ctx) -> Reply:
    return Reply(200, ctx.render.user(ctx.grant.login))


def get_rate_limit(ctx: Ctx) -> Reply:
    world = ctx.world
    core = {
        "limit": world.rate_limit,
        "used": world.rate_used,
        "remaining": max(0, world.rate_limit - world.rate_used),
        "reset": world.rate_reset,
    }
    search = {"limit": 30, "used": 0, "remaining": 30, "reset": world.rate_reset}
    return Reply(200, {"resources": {"core": core, "search": search}, "rate": core})


# GitHub App


def get_app(ctx: Ctx) -> Reply:
    return Reply(200, ctx.render.app())


def get_app_hook_config(ctx: Ctx) -> Reply:
    return Reply(200, ctx.render.app_hook_config())


def list_installations(ctx: Ctx) -> Reply:
    installations = sorted(ctx.world.installations.values(), key=lambda i: i.id)
    return paged(ctx, [ctx.render.installation(i) for i in installations])


def create_installation_token(ctx: Ctx) -> Reply:
    world = ctx.world
    installation = world.installations.get(ctx.params["installation_id"])
    if installation is None:
        return not_found()
    names = ctx.get("repositories")
    scope = None if names is None else frozenset(f"{installation.account}/{n}" for n in names)
    if scope is not None and not scope <= set(installation.repos):
        message = (
            "There is at least one repository that does not exist or is not accessible"
            " to the parent installation."
        )
        return Reply(422, {"message": message})
    world.tokens_minted[installation.id] += 1
    token = f"ghs_fake_{installation.id}_{world.tokens_minted[installation.id]}"
    expires_at = world.clock() + timedelta(seconds=ctx.token_lifetime)
    world.grants[token] = Grant(world.app_bot_login, installation.id, expires_at, scope)
    body: dict[str, Any] = {
        "token": token,
        "expires_at": iso(expires_at),
        "permissions": ctx.get("permissions") or dict(installation.permissions),
        "repository_selection": "all" if scope is None else "selected",
    }
    if scope is not None:
        body["repositories"] = [ctx.render.repository(name) for name in sorted(scope)]
    return Reply(201, body)


def list_installation_repos(ctx: Ctx) -> Reply:
    installation = ctx.world.installations.get(ctx.grant.installation_id or -1)
    if installation is None:
        violation = "list-repos-accessible-to-installation needs an installation token"
        message = "Resource not accessible by integration"
        return Reply(403, {"message": message}, violations=(violation,))
    repos = [r for r in installation.repos if ctx.grant.repos is None or r in ctx.grant.repos]
    reply = paged(ctx, [ctx.render.repository(r) for r in repos], "repositories")
    return replace(reply, body={**reply.body, "repository_selection": "selected"})


# Webhooks and deliveries


def _hook(ctx: Ctx) -> Hook | None:
    hook = ctx.world.hooks.get(ctx.params["hook_id"])
    return hook if hook is not None and hook.repo == ctx.repo else None


def list_hooks(ctx: Ctx) -> Reply:
    return paged(ctx, [ctx.render.hook(h) for h in ctx.world.hooks_of(ctx.repo)])


def create_hook(ctx: Ctx) -> Reply:
    if ctx.get("name", "web") != "web":
        return Reply(422, {"message": "Validation Failed", "errors": ["name must be web"]})
    now = ctx.world.clock()
    hook = Hook(
        id=ctx.world.next_id("hook"),
        repo=ctx.repo,
        events=list(ctx.get("events", ["push"])),
        config={"content_type": "form", "insecure_ssl": "0", **ctx.get("config", {})},
        active=ctx.get("active", True),
        created_at=now,
        updated_at=now,
    )
    ctx.world.hooks[hook.id] = hook
    return Reply(201, ctx.render.hook(hook))


def update_hook(ctx: Ctx) -> Reply:
    """``config`` replaces the whole config: a secret not sent again is removed (GitHub's rule)."""
    hook = _hook(ctx)
    if hook is None:
        return not_found()
    if ctx.get("config") is not None:
        hook.config = {"content_type": "form", "insecure_ssl": "0", **ctx.get("config")}
    events = list(ctx.get("events", hook.events))
    events += [e for e in ctx.get("add_events", []) if e not in events]
    hook.events = [e for e in events if e not in ctx.get("remove_events", [])]
    hook.active = ctx.get("active", hook.active)
    hook.updated_at = ctx.world.clock()
    return Reply(200, ctx.render.hook(hook))


def ping_hook(ctx: Ctx) -> Reply:
    hook = _hook(ctx)
    if hook is None:
        return not_found()
    ctx.world.pings.append((ctx.repo, hook.id))
    return Reply(204)


def list_deliveries(ctx: Ctx) -> Reply:
    """Newest first; the ``cursor`` names the first delivery of the page (``v1_<id>``)."""
    wanted = ctx.query.get("status")
    ranges = {"success": range(200, 400), "failure": range(400, 600), None: range(0, 1000)}
    deliveries = sorted(
        (d for d in ctx.world.deliveries.values() if d.status_code in ranges.get(wanted, ())),
        key=lambda d: (d.delivered_at, d.id),
        reverse=True,
    )
    start = 0
    cursor = ctx.query.get("cursor")
    if cursor is not None:
        ids = [f"v1_{d.id}" for d in deliveries]
        if cursor not in ids:
            return Reply(400, {"message": f"Invalid cursor: {cursor}"})
        start = ids.index(cursor)
    per_page = max(1, min(ctx.number("per_page", 30), 100))
    page = deliveries[start : start + per_page]
    headers = {}
    if start + per_page < len(deliveries):
        following = ctx.url.update_query(cursor=f"v1_{deliveries[start + per_page].id}")
        headers["Link"] = f'<{following}>; rel="next"'
    return Reply(200, [ctx.render.delivery(d) for d in page], headers)


def get_delivery(ctx: Ctx) -> Reply:
    delivery = ctx.world.deliveries.get(ctx.params["delivery_id"])
    return not_found() if delivery is None else Reply(200, ctx.render.delivery(delivery, full=True))


def redeliver(ctx: Ctx) -> Reply:
    if ctx.params["delivery_id"] not in ctx.world.deliveries:
        return not_found()
    ctx.world.redeliveries.append(ctx.params["delivery_id"])
    return Reply(202, {})


def behaviours() -> dict[str, Handler]:
    """Operation id to handler; operations missing here answer 501."""
    return {
        "issues/create-comment": create_comment,
        "issues/list-comments": list_comments,
        "issues/get-comment": get_comment,
        "issues/update-comment": update_comment,
        "issues/delete-comment": delete_comment,
        "pulls/create-reply-for-review-comment": reply_to_review_comment,
        "reactions/create-for-issue-comment": react_to_issue_comment,
        "reactions/create-for-pull-request-review-comment": react_to_review_comment,
        "reactions/create-for-issue": react_to_issue,
        "reactions/list-for-issue-comment": list_comment_reactions,
        "reactions/delete-for-issue-comment": delete_comment_reaction,
        "repos/get-collaborator-permission-level": get_permission,
        "users/get-authenticated": get_authenticated_user,
        "rate-limit/get": get_rate_limit,
        "apps/get-authenticated": get_app,
        "apps/get-webhook-config-for-app": get_app_hook_config,
        "apps/list-installations": list_installations,
        "apps/create-installation-access-token": create_installation_token,
        "apps/list-repos-accessible-to-installation": list_installation_repos,
        "repos/list-webhooks": list_hooks,
        "repos/create-webhook": create_hook,
        "repos/update-webhook": update_hook,
        "repos/ping-webhook": ping_hook,
        "apps/list-webhook-deliveries": list_deliveries,
        "apps/get-webhook-delivery": get_delivery,
        "apps/redeliver-webhook-delivery": redeliver,
    }
