"""``chatops github setup-repo OWNER/REPO``: a repository webhook with a secret of its own.

For token mode (a GitHub App gets its webhook from the App's settings). It creates the
repository's webhook for ``<bot.public_url>/webhooks/github``, or updates the one that
already points there, with a freshly generated secret, the events the bot reads, and JSON
payloads; stores the secret for that hook id in the database; and asks GitHub to ping the
hook. Rerunning it rotates the secret.

Invariants: the secret is generated here and never printed; it is stored only after
GitHub accepted it, so the database never claims a secret GitHub does not use (if the
store fails after GitHub accepted, rerunning repairs it). Every failure is one line on
stderr and exit status 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TextIO

import aiohttp
import gidgethub
from gidgethub.aiohttp import GitHubAPI

from bot.clock import Clock
from bot.config import Config
from connectors.github.api import split_repo
from connectors.github.hooks import HookSecrets, new_secret
from connectors.github.integration import ROUTE, requester

HOOK_EVENTS = ("issue_comment", "pull_request_review_comment", "workflow_run", "check_suite")


@dataclass(frozen=True, slots=True)
class SetupResult:
    hook_id: int
    created: bool
    url: str


class SetupError(Exception):
    """Why the hook could not be set up, in one line for the operator."""


async def setup_repo(
    config: Config, repo: str, session: aiohttp.ClientSession, clock: Clock
) -> SetupResult:
    settings = config.github
    if settings.app_mode:
        raise SetupError(
            "setup-repo is for token mode; a GitHub App's webhook is set in the App's settings"
        )
    if settings.token is None:
        raise SetupError("set github.token to the token the bot uses")
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise SetupError(f"expected OWNER/REPO, got {repo!r}")
    url = config.bot.public_url.rstrip("/") + ROUTE
    api = GitHubAPI(
        session,
        requester(config.bot),
        oauth_token=settings.token.reveal(),
        base_url=settings.api_url,
    )
    secret = new_secret()
    hook_config = {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"}
    body: dict[str, Any] = {"config": hook_config, "events": list(HOOK_EVENTS), "active": True}
    names = split_repo(repo)
    try:
        existing = await _hook_for(api, names, url)
        if existing is None:
            hook = await api.post(
                "/repos/{owner}/{repo}/hooks", names, data={"name": "web", **body}
            )
        else:
            hook = await api.patch(
                "/repos/{owner}/{repo}/hooks/{hook_id}", {**names, "hook_id": existing}, data=body
            )
        hook_id = int(hook["id"])
        await HookSecrets().store(str(hook_id), repo.lower(), secret, clock.now())
        await api.post(
            "/repos/{owner}/{repo}/hooks/{hook_id}/pings", {**names, "hook_id": hook_id}, data=b""
        )
    except gidgethub.HTTPException as exc:
        raise SetupError(f"GitHub answered {int(exc.status_code)}: {exc}") from exc
    except aiohttp.ClientError as exc:
        raise SetupError(f"cannot reach GitHub at {settings.api_url}: {exc}") from exc
    return SetupResult(hook_id=hook_id, created=existing is None, url=url)


async def _hook_for(api: GitHubAPI, names: dict[str, str], url: str) -> int | None:
    async for hook in api.getiter("/repos/{owner}/{repo}/hooks", names):
        if (hook.get("config") or {}).get("url") == url:
            return int(hook["id"])
    return None


def describe(result: SetupResult, repo: str, out: TextIO) -> None:
    verb = "created" if result.created else "updated"
    print(
        f"{verb} webhook {result.hook_id} on {repo} for {result.url}; "
        "its new secret is stored in the database; ping sent",
        file=out,
    )
