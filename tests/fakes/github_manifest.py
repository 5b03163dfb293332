"""The fake GitHub's side of the App manifest flow (docs: "Registering a GitHub App from a
manifest").

Web pages (not REST): ``POST /settings/apps/new`` and ``POST
/organizations/{org}/settings/apps/new`` take the form field ``manifest`` (and ``state`` in
the query). The fake plays the person signed in to GitHub, ``SIGNED_IN_USER``, who creates
the App as proposed: the manifest is checked (a JSON object with ``url``,
``hook_attributes.url`` and ``redirect_url``; every ``default_permissions`` key and level
one the REST description's ``app-permissions`` schema knows), recorded, and answered with a
302 to ``redirect_url?code=...&state=...``. A manifest that breaks these is a 422 page and
a violation.

REST: ``apps/create-from-manifest`` (``POST /app-manifests/{code}/conversions``) turns a
code into the App, once, within an hour, as GitHub does; ``FakeGitHub`` does the part that
needs its own key (a fresh RSA key whose public half it then accepts App JWTs for).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from yarl import URL

from tests.fakes.github_contract import Contract

SIGNED_IN_USER = "octo-admin"
CODE_LIFETIME = timedelta(hours=1)


@dataclass(frozen=True)
class SubmittedManifest:
    """A manifest as the browser posted it, and for whom the App is made."""

    manifest: dict[str, Any]
    owner: str  # the organization, or the signed-in user
    org: str | None
    state: str | None
    submitted_at: datetime


@dataclass
class ManifestFlow:
    contract: Contract
    clock: Callable[[], datetime]
    submitted: list[SubmittedManifest] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    _codes: dict[str, SubmittedManifest] = field(default_factory=dict)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/settings/apps/new", self._new_app),
            web.post("/organizations/{org}/settings/apps/new", self._new_app),
        ]

    def take(self, code: str) -> SubmittedManifest | None:
        """The manifest a code stands for, once, within ``CODE_LIFETIME``."""
        found = self._codes.pop(code, None)
        if found is None or self.clock() - found.submitted_at > CODE_LIFETIME:
            return None
        return found

    async def _new_app(self, request: web.Request) -> web.Response:
        form = await request.post()
        raw = form.get("manifest")
        problems = ["no manifest field"] if not isinstance(raw, str) else []
        manifest: Any = None
        if isinstance(raw, str):
            try:
                manifest = json.loads(raw)
            except ValueError:
                problems.append("the manifest is not JSON")
        if isinstance(raw, str) and not problems:
            problems = self._problems(manifest)
        if problems:
            self.violations += [f"{request.method} {request.path}: {p}" for p in problems]
            return web.Response(status=422, text="; ".join(problems), content_type="text/html")
        org = request.match_info.get("org")
        state = request.query.get("state")
        submitted = SubmittedManifest(manifest, org or SIGNED_IN_USER, org, state, self.clock())
        self.submitted.append(submitted)
        code = secrets.token_hex(10)
        self._codes[code] = submitted
        query = {"code": code, **({"state": state} if state is not None else {})}
        raise web.HTTPFound(URL(manifest["redirect_url"]).update_query(query))

    def _problems(self, manifest: Any) -> list[str]:
        if not isinstance(manifest, dict):
            return ["the manifest is not a JSON object"]
        problems = [f"missing {name}" for name in ("url", "redirect_url") if not manifest.get(name)]
        hook = manifest.get("hook_attributes")
        if hook is not None and not (isinstance(hook, dict) and hook.get("url")):
            problems.append("hook_attributes without url")
        schema = self.contract.resolve({"$ref": "#/components/schemas/app-permissions"})
        known: dict[str, Any] = schema["properties"]
        for key, level in (manifest.get("default_permissions") or {}).items():
            if key not in known:
                problems.append(f"unknown permission {key!r}")
            elif level not in known[key].get("enum", ()):
                problems.append(f"permission {key!r} cannot be {level!r}")
        events = manifest.get("default_events") or []
        if not all(isinstance(e, str) and re.fullmatch(r"[a-z_]+", e) for e in events):
            problems.append(f"malformed default_events {events!r}")
        return problems
