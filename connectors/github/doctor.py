"""``chatops doctor`` for GitHub beyond the credential: what the App was granted, and where
the webhooks post.

- App mode: ``GET /app`` names the permissions the App was granted and the events it
  subscribes to; each is compared with what the command families need
  (``connectors.github.app_manifest.FAMILIES``, the one list the manifest and the README
  are made from), and every permission an installation has not accepted yet is named. The
  App's webhook (``GET /app/hook/config``) must post JSON to
  ``<bot.public_url>/webhooks/github``.
- Token mode: each repository to check (named in the configuration or with ``--repo``) must
  have an active repository webhook (``GET /repos/{owner}/{repo}/hooks``) that posts JSON
  there with the events ``chatops github setup-repo`` subscribes to.

Every problem is one ``Finding`` that says what to fix. Pure decisions (``permission_gaps``,
``missing_events``) are apart from the calls. Nothing here writes to GitHub, and a hook's
secret is never read (GitHub masks it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gidgethub
from gidgethub.aiohttp import GitHubAPI

from bot.doctor import Finding, fail, note, ok
from connectors.github.api import split_repo
from connectors.github.app_manifest import (
    EVENT_NAMES,
    FAMILIES,
    LEVEL_ORDER,
    LEVEL_WORDS,
    ORGANIZATION_PERMISSIONS,
    PERMISSION_NAMES,
    app_events,
    app_permissions,
)
from connectors.github.setup import HOOK_EVENTS

APP = "github app"
HOOK = "github webhook"
SETTINGS = "the App's settings (Permissions & events)"


@dataclass(frozen=True, slots=True)
class PermissionGap:
    key: str
    needed: str  # READ or WRITE
    granted: str | None  # what GitHub says it has; None when not granted at all


def permission_gaps(granted: Mapping[str, str], needed: Mapping[str, str]) -> list[PermissionGap]:
    """Each needed permission granted at a lower level or not at all, by key."""
    gaps = []
    for key, level in sorted(needed.items()):
        have = granted.get(key)
        if have is None or _rank(have) < _rank(level):
            gaps.append(PermissionGap(key, level, have))
    return gaps


def missing_events(subscribed: Iterable[str], needed: Iterable[str]) -> list[str]:
    """The needed events not subscribed to, in the order needed (``*`` is every event)."""
    have = set(subscribed)
    return [] if "*" in have else [event for event in needed if event not in have]


def app_findings(
    app: Mapping[str, Any], installations: Sequence[Mapping[str, Any]]
) -> list[Finding]:
    """The App's grants and subscriptions against the families' needs, and what each
    installation has not accepted of them."""
    needed = app_permissions()
    granted = {str(k): str(v) for k, v in (app.get("permissions") or {}).items()}
    findings = [
        fail(
            APP,
            f"permission {_permission_name(gap.key)}: "
            f"{'not granted' if gap.granted is None else _words(gap.granted)}, "
            f"needs {LEVEL_WORDS[gap.needed]} for {_needers(gap.key, gap.granted)}: grant it "
            f"in {SETTINGS}, then accept it on each installation",
        )
        for gap in permission_gaps(granted, needed)
    ]
    for event in missing_events(app.get("events") or (), app_events()):
        findings.append(
            fail(
                APP,
                f"event {EVENT_NAMES[event]}: not subscribed, needed for {_readers(event)}: "
                f'tick it under "Subscribe to events" in {SETTINGS}',
            )
        )
    # what the App has (as far as it is needed) but an installation has not accepted yet
    offered = {
        key: min(level, granted[key], key=LEVEL_ORDER.index)
        for key, level in needed.items()
        if key in granted and granted[key] in LEVEL_ORDER
    }
    for installation in sorted(installations, key=_account):
        accepted = {str(k): str(v) for k, v in (installation.get("permissions") or {}).items()}
        gaps = permission_gaps(accepted, offered)
        if gaps:
            names = ", ".join(f"{_permission_name(g.key)}: {LEVEL_WORDS[g.needed]}" for g in gaps)
            account = _account(installation)
            findings.append(
                fail(
                    APP,
                    f"the installation on {account} has not accepted {names}: an owner of "
                    f"{account} accepts the App's request under Settings > GitHub Apps",
                )
            )
    if not findings:
        findings.append(
            ok(APP, "granted every permission and event the commands need (README, Permissions)")
        )
    return findings


def hook_config_findings(config: Mapping[str, Any], url: str) -> list[Finding]:
    """The App's webhook configuration against the URL the bot serves."""
    where = str(config.get("url") or "")
    if not where:
        return [fail(HOOK, f"the App has no webhook URL: set it to {url} in the App's settings")]
    if where.rstrip("/") != url:
        return [
            fail(
                HOOK,
                f"the App's webhook posts to {where}, not {url}: set the Webhook URL in the "
                "App's settings (or bot.public_url, if that address is the right one)",
            )
        ]
    return _format_findings(config, f"the App's webhook posts to {url}", "in the App's settings")


async def app_hook(api: GitHubAPI, url: str) -> list[Finding]:
    """``GET /app/hook/config`` (with the App's JWT) checked against ``url``."""
    try:
        config = await api.getitem("/app/hook/config")
    except gidgethub.HTTPException as exc:
        return [fail(HOOK, f"GitHub answered {int(exc.status_code)} for the App's webhook")]
    return hook_config_findings(config, url)


async def repo_hooks(api: GitHubAPI, repos: Sequence[str], url: str) -> list[Finding]:
    """Each repository's webhook for ``url``, in token mode."""
    if not repos:
        return [
            note(
                HOOK,
                "no repository to check: name one in [[ci.workflows]] or with "
                "`chatops doctor --repo OWNER/REPO`",
            )
        ]
    findings: list[Finding] = []
    for repo in repos:
        findings.extend(await _repo_hook(api, repo, url))
    return findings


async def _repo_hook(api: GitHubAPI, repo: str, url: str) -> list[Finding]:
    setup = f"`chatops github setup-repo {repo}`"
    try:
        hooks = [
            hook async for hook in api.getiter("/repos/{owner}/{repo}/hooks", split_repo(repo))
        ]
    except gidgethub.HTTPException as exc:
        status = int(exc.status_code)
        if status == 404:
            why = "no such repository, or the token cannot see it"
        elif status == 403:
            why = (
                "the token may not read its webhooks "
                "(fine-grained: Webhooks read; classic: read:repo_hook)"
            )
        else:
            why = str(exc)
        return [fail(HOOK, f"{repo}: GitHub answered {status} for its webhooks: {why}")]
    ours = [hook for hook in hooks if _url(hook).rstrip("/") == url]
    if not ours:
        elsewhere = sorted(_url(h) for h in hooks if _url(h).endswith("/webhooks/github"))
        also = f" (one posts to {', '.join(elsewhere)})" if elsewhere else ""
        return [fail(HOOK, f"{repo}: no webhook posts to {url}{also}: run {setup}")]
    hook = ours[0]
    name = f"{repo}: webhook {hook['id']}"
    if not hook.get("active", True):
        return [fail(HOOK, f"{name} is inactive: run {setup}, or activate it in its settings")]
    missing = missing_events(hook.get("events") or (), HOOK_EVENTS)
    if missing:
        return [fail(HOOK, f"{name} does not send {', '.join(missing)} events: run {setup}")]
    return _format_findings(
        hook.get("config") or {},
        f"{name} posts to {url} with the events needed",
        f"(or run {setup})",
    )


def _format_findings(config: Mapping[str, Any], good: str, where: str) -> list[Finding]:
    findings = []
    if config.get("content_type", "form") != "json":
        findings.append(
            fail(HOOK, f"{good}, but as form data: choose content type application/json {where}")
        )
    else:
        findings.append(ok(HOOK, good))
    if str(config.get("insecure_ssl", "0")) != "0":
        findings.append(
            note(HOOK, f"TLS certificates are not verified: turn SSL verification on {where}")
        )
    return findings


def _url(hook: Mapping[str, Any]) -> str:
    return str((hook.get("config") or {}).get("url") or "")


def _account(installation: Mapping[str, Any]) -> str:
    return str((installation.get("account") or {}).get("login") or installation.get("id"))


def _rank(level: str) -> int:
    return LEVEL_ORDER.index(level) if level in LEVEL_ORDER else -1


def _words(level: str) -> str:
    return LEVEL_WORDS.get(level, level)


def _needers(key: str, granted: str | None) -> str:
    """The App families that ask for ``key`` above ``granted``: "CI, write (`rescan` ...)"."""
    have = -1 if granted is None else _rank(granted)
    names = [
        _family(family.name, family.commands)
        for family in FAMILIES
        if family.app and any(p.key == key and _rank(p.level) > have for p in family.permissions)
    ]
    return "; ".join(names)


def _permission_name(key: str) -> str:
    """GitHub's name of the permission; an organisation's marked, as its "Secrets" and a
    repository's share a name."""
    scope = " (organization)" if key in ORGANIZATION_PERMISSIONS else ""
    return f"{PERMISSION_NAMES[key]}{scope}"


def _readers(event: str) -> str:
    return "; ".join(
        _family(family.name, family.commands) for family in FAMILIES if event in family.events
    )


def _family(name: str, commands: str) -> str:
    return f"{name} ({commands})"
