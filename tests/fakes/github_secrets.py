"""CI secrets and repository files for the fake GitHub: seeding helpers and handlers.

What is remembered lives in ``World`` (``repo_secrets``, ``environment_secrets``,
``org_secrets``, ``dependabot_secrets``, ``files``); ``SecretsSeeder`` (``FakeGitHub.secrets``)
fills it, and ``secrets_behaviours()`` answers:

- ``actions/list-repo-secrets``, ``dependabot/list-repo-secrets``,
  ``actions/list-environment-secrets``, ``repos/get-all-environments``: names and dates,
  paged like GitHub; an environment exists once a secret of it was seeded;
- ``actions/list-org-secrets`` (404 for an owner without seeded organization secrets: a
  user, as GitHub answers), ``actions/list-selected-repos-for-org-secret`` (409 unless the
  secret's visibility is ``selected``, as GitHub answers);
- ``repos/get-content``: a file (base64 in 60-column lines, as GitHub sends it) or a
  directory listing of one tree. Trees are seeded per ``(repo, ref)``; no ``ref`` means the
  default branch, a pull's head branch name means its head sha, and a ref with no seeded
  tree is "No commit found" (404), so a client that forgets ``ref`` is caught.

Secret values are never accepted or stored: there is nothing to leak.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tests.fakes.github_handlers import Ctx, Handler, Reply, not_found, paged
from tests.fakes.github_render import WEB, iso, name_id, node_id
from tests.fakes.github_state import OrgSecret, StoredSecret, World

DEFAULT_TREE = ""


class SecretsSeeder:
    """Seeds secrets and files; dates default to the fake's clock."""

    def __init__(self, world: World) -> None:
        self._world = world

    def _stored(
        self, name: str, created_at: datetime | None, updated_at: datetime | None
    ) -> StoredSecret:
        created = created_at or self._world.clock()
        return StoredSecret(name, created, updated_at or created)

    def add_repo_secret(
        self,
        repo: str,
        name: str,
        *,
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
    ) -> None:
        stored = self._stored(name, created_at, updated_at)
        self._world.repo_secrets.setdefault(repo, []).append(stored)

    def add_environment_secret(
        self,
        repo: str,
        environment: str,
        name: str,
        *,
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
    ) -> None:
        stored = self._stored(name, created_at, updated_at)
        self._world.environment_secrets.setdefault((repo, environment), []).append(stored)

    def add_dependabot_secret(
        self,
        repo: str,
        name: str,
        *,
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
    ) -> None:
        stored = self._stored(name, created_at, updated_at)
        self._world.dependabot_secrets.setdefault(repo, []).append(stored)

    def add_org_secret(
        self,
        org: str,
        name: str,
        *,
        visibility: str = "all",
        selected: Sequence[str] = (),
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
    ) -> None:
        """An organization secret; ``selected`` names repositories as ``owner/name``."""
        if visibility not in ("all", "private", "selected"):
            raise ValueError(f"visibility must be all, private or selected, not {visibility!r}")
        stored = self._stored(name, created_at, updated_at)
        secret = OrgSecret(name, visibility, tuple(selected), stored.created_at, stored.updated_at)
        self._world.org_secrets.setdefault(org, []).append(secret)

    def add_file(self, repo: str, path: str, text: str, *, ref: str | None = None) -> None:
        """A file of ``repo`` at ``ref`` (a sha or branch; None: the default branch)."""
        self._world.files.setdefault((repo, ref or DEFAULT_TREE), {})[path] = text


# Handlers


def _secret_json(secret: StoredSecret) -> dict[str, Any]:
    return {
        "name": secret.name,
        "created_at": iso(secret.created_at),
        "updated_at": iso(secret.updated_at),
    }


def list_repo_secrets(ctx: Ctx) -> Reply:
    if not ctx.world.knows_repo(ctx.repo):
        return not_found()
    secrets = ctx.world.repo_secrets.get(ctx.repo, [])
    return paged(ctx, [_secret_json(s) for s in secrets], "secrets")


def list_dependabot_secrets(ctx: Ctx) -> Reply:
    if not ctx.world.knows_repo(ctx.repo):
        return not_found()
    secrets = ctx.world.dependabot_secrets.get(ctx.repo, [])
    return paged(ctx, [_secret_json(s) for s in secrets], "secrets")


def _environments(world: World, repo: str) -> list[str]:
    return sorted({env for (owner_repo, env) in world.environment_secrets if owner_repo == repo})


def list_environments(ctx: Ctx) -> Reply:
    if not ctx.world.knows_repo(ctx.repo):
        return not_found()
    created = iso(ctx.world.clock())
    url = f"{ctx.render.api}/repos/{ctx.repo}/environments"
    environments = [
        {
            "id": name_id(f"{ctx.repo}:{env}"),
            "node_id": node_id("Environment", name_id(f"{ctx.repo}:{env}")),
            "name": env,
            "url": f"{url}/{env}",
            "html_url": f"{WEB}/{ctx.repo}/deployments/activity_log?environments_filter={env}",
            "created_at": created,
            "updated_at": created,
            "protection_rules": [],
            "deployment_branch_policy": None,
        }
        for env in _environments(ctx.world, ctx.repo)
    ]
    return paged(ctx, environments, "environments")


def list_environment_secrets(ctx: Ctx) -> Reply:
    secrets = ctx.world.environment_secrets.get((ctx.repo, ctx.params["environment_name"]))
    if secrets is None:
        return not_found()
    return paged(ctx, [_secret_json(s) for s in secrets], "secrets")


def list_org_secrets(ctx: Ctx) -> Reply:
    org = ctx.params["org"]
    secrets = ctx.world.org_secrets.get(org)
    if secrets is None:
        return not_found()
    items = []
    for secret in secrets:
        item: dict[str, Any] = {
            "name": secret.name,
            "created_at": iso(secret.created_at),
            "updated_at": iso(secret.updated_at),
            "visibility": secret.visibility,
        }
        if secret.visibility == "selected":
            item["selected_repositories_url"] = (
                f"{ctx.render.api}/orgs/{org}/actions/secrets/{secret.name}/repositories"
            )
        items.append(item)
    return paged(ctx, items, "secrets")


def list_selected_repos(ctx: Ctx) -> Reply:
    org, name = ctx.params["org"], ctx.params["secret_name"]
    found = [s for s in ctx.world.org_secrets.get(org, []) if s.name == name]
    if not found:
        return not_found()
    if found[0].visibility != "selected":
        message = "The visibility of this secret is not set to 'selected'"
        return Reply(409, {"message": message})
    repos = [ctx.render.repository(repo) for repo in found[0].selected]
    return paged(ctx, repos, "repositories")


def _tree(ctx: Ctx) -> dict[str, str] | None:
    ref = ctx.query.get("ref")
    if ref is None:
        return ctx.world.files.get((ctx.repo, DEFAULT_TREE), {})
    for pull in ctx.world.pulls.values():
        if pull.repo == ctx.repo and ref in (pull.head_ref, f"refs/heads/{pull.head_ref}"):
            ref = pull.head_sha
    return ctx.world.files.get((ctx.repo, ref))


def get_content(ctx: Ctx) -> Reply:
    if not ctx.world.knows_repo(ctx.repo):
        return not_found()
    tree = _tree(ctx)
    if tree is None:
        return not_found(f"No commit found for the ref {ctx.query.get('ref')}")
    path = str(ctx.params["path"]).strip("/")
    if path in tree:
        return Reply(200, _file_json(ctx, path, tree[path]))
    children: dict[str, str] = {}
    for file_path in tree:
        if file_path.startswith(path + "/"):
            rest = file_path[len(path) + 1 :]
            child = rest.split("/", 1)[0]
            children[child] = "dir" if "/" in rest else "file"
    if not children:
        return not_found()
    entries = [
        _entry_json(ctx, f"{path}/{child}", kind, tree.get(f"{path}/{child}", ""))
        for child, kind in sorted(children.items())
    ]
    return Reply(200, entries)


def _blob_sha(text: str) -> str:
    data = text.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _entry_json(ctx: Ctx, path: str, kind: str, text: str) -> dict[str, Any]:
    sha = _blob_sha(text) if kind == "file" else hashlib.sha1(path.encode()).hexdigest()
    api = f"{ctx.render.api}/repos/{ctx.repo}"
    url = f"{api}/contents/{path}"
    git_url = f"{api}/git/{'blobs' if kind == 'file' else 'trees'}/{sha}"
    html_url = f"{WEB}/{ctx.repo}/{'blob' if kind == 'file' else 'tree'}/main/{path}"
    raw = f"https://raw.githubusercontent.com/{ctx.repo}/main/{path}"
    return {
        "type": kind,
        "size": len(text.encode()) if kind == "file" else 0,
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": sha,
        "url": url,
        "git_url": git_url,
        "html_url": html_url,
        "download_url": raw if kind == "file" else None,
        "_links": {"git": git_url, "html": html_url, "self": url},
    }


def _file_json(ctx: Ctx, path: str, text: str) -> dict[str, Any]:
    encoded = base64.b64encode(text.encode()).decode()
    lines = [encoded[i : i + 60] for i in range(0, len(encoded), 60)]
    return {
        **_entry_json(ctx, path, "file", text),
        "encoding": "base64",
        "content": "\n".join(lines) + "\n" if lines else "",
    }


def secrets_behaviours() -> dict[str, Handler]:
    """Operation id to handler for secrets and repository contents."""
    return {
        "actions/list-repo-secrets": list_repo_secrets,
        "dependabot/list-repo-secrets": list_dependabot_secrets,
        "repos/get-all-environments": list_environments,
        "actions/list-environment-secrets": list_environment_secrets,
        "actions/list-org-secrets": list_org_secrets,
        "actions/list-selected-repos-for-org-secret": list_selected_repos,
        "repos/get-content": get_content,
    }
