"""``chatops doctor`` for GitLab beyond the token: where each project's webhook posts.

Each project to check (named in the configuration or with ``--repo``) must have a webhook
for ``<bot.public_url>/webhooks/gitlab`` that sends what ``connectors.gitlab`` reads
(``connectors.gitlab.setup.NEEDED_EVENTS``): its own (``GET /projects/:id/hooks``) or, when
it has none, one of a group it belongs to (``GET /groups/:id/hooks``, GitLab Premium), the
nearest group first. A group that cannot be read (a Free tier, or no Owner role) is passed
over. Every problem is one ``Finding`` that says what to fix; nothing here writes to
GitLab, and GitLab never shows a hook's token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gidgetlab.exceptions import HTTPException as GitLabHTTPException

from bot.doctor import Finding, fail, note, ok
from connectors.gitlab.api import GitLabApi, project_ref
from connectors.gitlab.setup import EVENT_WORDS, NEEDED_EVENTS

HOOK = "gitlab webhook"


def missing_flags(hook: Mapping[str, Any]) -> list[str]:
    """The events ``hook`` does not send that the bot reads, in ``NEEDED_EVENTS`` order."""
    return [name for name in NEEDED_EVENTS if hook.get(name) is not True]


def hook_findings(hook: Mapping[str, Any], where: str, fix: str) -> list[Finding]:
    """One found hook: ok, or what it lacks; a note when it does not verify TLS."""
    missing = missing_flags(hook)
    name = f"{where}: webhook {hook.get('id')}"
    if missing:
        words = ", ".join(EVENT_WORDS[flag] for flag in missing)
        return [fail(HOOK, f"{name} does not send {words}: run {fix}")]
    findings = [ok(HOOK, f"{name} sends {', '.join(EVENT_WORDS.values())}")]
    if hook.get("enable_ssl_verification") is False:
        findings.append(note(HOOK, f"{name} does not verify TLS certificates: run {fix}"))
    return findings


async def project_hooks(api: GitLabApi, projects: Sequence[str], url: str) -> list[Finding]:
    if not projects:
        return [
            note(
                HOOK,
                'no project to check: name one in [[ci.workflows]] (forge = "gitlab") or '
                "with `chatops doctor --repo gitlab:GROUP/PROJECT`",
            )
        ]
    findings: list[Finding] = []
    for project in projects:
        findings.extend(await _project(api, project, url))
    return findings


async def _project(api: GitLabApi, project: str, url: str) -> list[Finding]:
    fix = f"`chatops gitlab setup-project {project}`"
    try:
        hook = await _hook_for(api, f"/projects/{project_ref(project)}/hooks", url)
    except GitLabHTTPException as exc:
        status = int(exc.status_code)
        why = {
            403: "reading a project's webhooks needs the Maintainer role",
            404: "no such project, or the token cannot see it",
        }.get(status, "see the token and the project")
        return [fail(HOOK, f"{project}: GitLab answered {status} for its webhooks: {why}")]
    if hook is not None:
        return hook_findings(hook, project, fix)
    for group in _groups_of(project):
        try:
            hook = await _hook_for(api, f"/groups/{project_ref(group)}/hooks", url)
        except GitLabHTTPException:
            continue  # no group webhooks here (Free tier), or not the group's Owner
        if hook is not None:
            return hook_findings(
                hook, f"{project} (group {group})", f"`chatops gitlab setup-group {group}`"
            )
    return [fail(HOOK, f"{project}: no webhook posts to {url}: run {fix}")]


async def _hook_for(api: GitLabApi, hooks: str, url: str) -> dict[str, Any] | None:
    async for hook in api.getiter(hooks):
        if isinstance(hook, dict) and str(hook.get("url") or "").rstrip("/") == url:
            return hook
    return None


def _groups_of(project: str) -> list[str]:
    """``a/b/c`` -> ``a/b``, ``a``: the project's groups, nearest first."""
    parts = project.split("/")[:-1]
    return ["/".join(parts[:end]) for end in range(len(parts), 0, -1)]
