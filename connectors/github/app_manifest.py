"""What the bot needs from GitHub, per command family, written down once.

``FAMILIES`` is the one list of the GitHub permissions and webhook events each command
family uses. Two things are made from it and from nothing else:

- ``app_manifest``: the GitHub App manifest that ``chatops github create-app`` posts to
  GitHub (docs: "Registering a GitHub App from a manifest"; the permission keys and
  events are the ones the manifest's ``default_permissions`` and ``default_events`` take,
  as in "Choosing permissions for a GitHub App");
- ``permissions_table``: the Markdown table in the README's "Permissions, per command
  family", which a test compares with the README, so the documented permissions and the
  App's preset ones cannot drift apart.

Pure: data and functions of it, no I/O. Invariant: an App made from the manifest is
granted, for each permission, the highest level any App family asks for, subscribes to
every event an App family reads, and asks for nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

READ = "read"
WRITE = "write"
LEVEL_WORDS = {READ: "read", WRITE: "read and write"}
LEVEL_ORDER = (READ, WRITE)

# GitHub's names for the manifest's keys, as its settings pages show them
PERMISSION_NAMES = {
    "actions": "Actions",
    "checks": "Checks",
    "contents": "Contents",
    "dependabot_secrets": "Dependabot secrets",
    "environments": "Environments",
    "issues": "Issues",
    "metadata": "Metadata",
    "organization_secrets": "Secrets",
    "pull_requests": "Pull requests",
    "repository_hooks": "Webhooks",
    "secrets": "Secrets",
    "statuses": "Commit statuses",
}
ORGANIZATION_PERMISSIONS = frozenset({"organization_secrets"})
EVENT_NAMES = {
    "check_suite": "Check suite",
    "issue_comment": "Issue comment",
    "pull_request_review_comment": "Pull request review comment",
    "workflow_run": "Workflow run",
}
APP_DESCRIPTION = (
    "Chat-ops for pull requests: CI status, re-runs and secrets checks, "
    "from comments, Slack and Discord."
)


@dataclass(frozen=True, slots=True)
class Permission:
    key: str  # the manifest's key, e.g. "pull_requests"
    level: str  # READ or WRITE
    why: str = ""  # shown in the README after the level


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    commands: str  # the README's "commands" cell, Markdown
    permissions: tuple[Permission, ...]
    events: tuple[str, ...] = ()
    events_note: str = ""  # the README's events cell when the family subscribes to none
    app: bool = True  # False: token mode only, never asked of the App


FAMILIES: tuple[Family, ...] = (
    Family(
        "every command in a thread",
        "reading the command, the 👀 reaction, the answer, the user's level",
        (
            Permission("metadata", READ),
            Permission("issues", WRITE),
            Permission("pull_requests", WRITE),
        ),
        events=("issue_comment", "pull_request_review_comment"),
    ),
    Family(
        "CI, read",
        "`status`",
        (
            Permission("pull_requests", READ),
            Permission("checks", READ),
            Permission("statuses", READ),
            Permission("actions", READ),
        ),
    ),
    Family(
        "CI, write",
        "`rescan`, `restart`, `update`",
        (
            Permission("actions", WRITE, "re-run, cancel, workflow dispatch"),
            Permission("issues", WRITE, "the summary comment"),
        ),
        events=("workflow_run", "check_suite"),
    ),
    Family(
        "channels",
        "`subscribe`, `unsubscribe`, `subscriptions`, `use`",
        (Permission("metadata", READ),),
        events_note="(results come from the CI events above)",
    ),
    Family(
        "secrets",
        "`secrets audit`, `secrets usage`",
        (
            Permission("secrets", READ),
            Permission("environments", READ),
            Permission("dependabot_secrets", READ),
            Permission("contents", READ, "workflow files"),
            Permission("actions", READ, "environments, last runs"),
        ),
    ),
    Family(
        "secrets, organisation",
        "organisation secrets in `secrets audit`",
        (Permission("organization_secrets", READ),),
    ),
    Family(
        "set-up (token mode)",
        "`chatops github setup-repo`",
        (Permission("repository_hooks", WRITE),),
        app=False,
    ),
)


def app_permissions(families: Iterable[Family] = FAMILIES) -> dict[str, str]:
    """Each permission an App family asks for, at the highest level asked, sorted by key."""
    levels: dict[str, str] = {}
    for family in families:
        if not family.app:
            continue
        for permission in family.permissions:
            current = levels.get(permission.key, READ)
            levels[permission.key] = max(current, permission.level, key=LEVEL_ORDER.index)
    return dict(sorted(levels.items()))


def app_events(families: Iterable[Family] = FAMILIES) -> list[str]:
    """Every event an App family reads, in the order the families list them."""
    events: list[str] = []
    for family in families:
        if family.app:
            events += [event for event in family.events if event not in events]
    return events


def app_manifest(
    *, name: str, public_url: str, webhook_path: str, redirect_url: str
) -> dict[str, Any]:
    """The manifest: the webhook at ``public_url + webhook_path``, the browser sent back to
    ``redirect_url`` with the code, private to the account that creates it."""
    base = public_url.rstrip("/")
    return {
        "name": name,
        "url": base,
        "description": APP_DESCRIPTION,
        "hook_attributes": {"url": base + webhook_path, "active": True},
        "redirect_url": redirect_url,
        "public": False,
        "default_permissions": app_permissions(),
        "default_events": app_events(),
    }


def permissions_table(families: Iterable[Family] = FAMILIES) -> str:
    """The README's table, one row per family, ending with a newline."""
    lines = [
        "| family | commands | GitHub repository permissions | GitHub App events |",
        "| --- | --- | --- | --- |",
    ]
    for family in families:
        permissions = "; ".join(_permission_words(p) for p in family.permissions)
        events = ", ".join(EVENT_NAMES[event] for event in family.events) or family.events_note
        cells = [family.name, family.commands, permissions, events]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines).replace("|  |", "| |") + "\n"  # an empty cell is "| |"


def _permission_words(permission: Permission) -> str:
    scope = "organization permission " if permission.key in ORGANIZATION_PERMISSIONS else ""
    words = f"{scope}{PERMISSION_NAMES[permission.key]}: {LEVEL_WORDS[permission.level]}"
    return f"{words} ({permission.why})" if permission.why else words
