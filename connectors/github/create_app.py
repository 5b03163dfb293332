"""``chatops github create-app``: register the bot's GitHub App from a manifest.

GitHub's manifest flow (docs: "Registering a GitHub App from a manifest"): a browser
POSTs a form whose ``manifest`` field holds the App's JSON to ``<web>/settings/apps/new``
(or ``<web>/organizations/ORG/settings/apps/new``) with a ``state``; the person signed in
there names and creates the App; GitHub sends the browser to the manifest's
``redirect_url`` with ``?code=...&state=...``; ``POST /app-manifests/{code}/conversions``
(no authentication; the code is single-use and lives one hour) answers with the App's id,
slug, private key (``pem``) and webhook secret.

Here the bot serves that page itself on ``127.0.0.1`` (port 0 or ``--port``): ``GET /``
is the form, which submits itself; ``GET /callback`` takes the redirect. The code is
exchanged through the REST API at ``github.api_url``, the private key and the webhook
secret are written to files readable by their owner only (0600, in a directory created
0700), and the report says what to add to the configuration (as ``file:`` references) and
what to do next: install the App.

GitHub's web pages are found from ``github.api_url``: ``https://api.github.com`` means
``https://github.com``, ``https://HOST/api/v3`` (Enterprise Server) means
``https://HOST``, and any other URL is taken to serve both (a proxy, or the tests' fake).

Invariants: no file is overwritten (they are checked before the browser is sent anywhere,
and created exclusively); a callback whose ``state`` is not this run's is refused and the
flow keeps waiting; secret values are never printed; the OAuth client secret GitHub also
returns is dropped, as the bot does not use OAuth. The wait for the browser is bounded by
``timeout``. Every failure is a ``CreateAppError`` with one line for the operator.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp
import gidgethub
from aiohttp import web
from gidgethub.aiohttp import GitHubAPI

from bot.config import Config
from connectors.github.app_manifest import app_manifest
from connectors.github.integration import ROUTE, requester

DEFAULT_API_URL = "https://api.github.com"
PRIVATE_KEY_FILE = "github-app.pem"
WEBHOOK_SECRET_FILE = "github-webhook-secret"
CALLBACK_PATH = "/callback"
DEFAULT_TIMEOUT = 600.0


class CreateAppError(Exception):
    """Why no App was made or stored, in one line for the operator."""


@dataclass(frozen=True, slots=True)
class CreateAppOptions:
    out_dir: Path
    org: str | None = None
    public_url: str | None = None  # default: bot.public_url
    port: int = 0
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True, slots=True)
class CreatedApp:
    app_id: int
    slug: str
    owner: str
    html_url: str
    webhook_url: str
    private_key_file: Path
    webhook_secret_file: Path | None  # None when GitHub gave no webhook secret


def web_url(api_url: str) -> str:
    """GitHub's web root for an API URL (see the module docstring)."""
    parts = urlsplit(api_url.rstrip("/"))
    if parts.hostname == "api.github.com":
        return "https://github.com"
    if parts.path.endswith("/api/v3"):
        return urlunsplit((parts.scheme, parts.netloc, parts.path[: -len("/api/v3")], "", ""))
    return api_url.rstrip("/")


def new_app_action(config: Config, org: str | None) -> str:
    """Where the form posts the manifest: the user's or the organization's new-App page."""
    base = web_url(config.github.api_url)
    if org:
        return f"{base}/organizations/{quote(org, safe='')}/settings/apps/new"
    return f"{base}/settings/apps/new"


async def register_app(
    config: Config,
    options: CreateAppOptions,
    session: aiohttp.ClientSession,
    out: TextIO,
    *,
    ready: Callable[[str], object] = lambda url: None,
) -> CreatedApp:
    """Run the flow; ``ready`` is called with the local page's URL once it serves."""
    key_file = options.out_dir / PRIVATE_KEY_FILE
    secret_file = options.out_dir / WEBHOOK_SECRET_FILE
    for path in (key_file, secret_file):
        if path.exists():
            raise CreateAppError(f"{path} exists: move it away or choose another --out")
    public_url = (options.public_url or config.bot.public_url).rstrip("/")
    flow = _Flow(state=secrets.token_urlsafe(24))
    runner = web.AppRunner(flow.application(), access_log=None)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, "127.0.0.1", options.port).start()
        except OSError as exc:
            raise CreateAppError(f"cannot listen on 127.0.0.1:{options.port}: {exc}") from exc
        host, port = runner.addresses[0][:2]
        local = f"http://{host}:{port}"
        flow.action = f"{new_app_action(config, options.org)}?state={flow.state}"
        flow.manifest = app_manifest(
            name=config.bot.name,
            public_url=public_url,
            webhook_path=ROUTE,
            redirect_url=local + CALLBACK_PATH,
        )
        print(
            f"Open {local}/ in a browser signed in to GitHub: it sends the App's manifest to "
            f"GitHub, where you name the App and create it. Waiting up to "
            f"{options.timeout:g} s ...",
            file=out,
            flush=True,
        )
        ready(local + "/")
        try:
            code = await asyncio.wait_for(flow.code, options.timeout)
        except TimeoutError:
            raise CreateAppError(
                f"GitHub sent no code within {options.timeout:g} s: run it again"
            ) from None
    finally:
        await runner.cleanup()
    conversion = await _exchange(config, session, code)
    return _store(conversion, options, public_url + ROUTE, key_file, secret_file)


async def _exchange(config: Config, session: aiohttp.ClientSession, code: str) -> dict[str, Any]:
    api_url = config.github.api_url
    api = GitHubAPI(session, requester(config.bot), base_url=api_url)
    try:
        answer = await api.post("/app-manifests/{code}/conversions", {"code": code}, data=b"")
    except gidgethub.HTTPException as exc:
        raise CreateAppError(
            f"GitHub answered {int(exc.status_code)} to the code exchange ({exc}); "
            "a code is good once and for an hour: run it again"
        ) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise CreateAppError(f"cannot reach GitHub at {api_url}: {exc}") from exc
    if not isinstance(answer, dict) or not answer.get("id") or not answer.get("pem"):
        raise CreateAppError("GitHub's answer to the code exchange has no App id or key")
    return answer


def _store(
    conversion: dict[str, Any],
    options: CreateAppOptions,
    webhook_url: str,
    key_file: Path,
    secret_file: Path,
) -> CreatedApp:
    options.out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_private(key_file, str(conversion["pem"]))
    webhook_secret = conversion.get("webhook_secret")
    if webhook_secret:
        _write_private(secret_file, str(webhook_secret))
    owner = conversion.get("owner") or {}
    return CreatedApp(
        app_id=int(conversion["id"]),
        slug=str(conversion["slug"]),
        owner=str(owner.get("login", "")),
        html_url=str(conversion["html_url"]),
        webhook_url=webhook_url,
        private_key_file=key_file.resolve(),
        webhook_secret_file=secret_file.resolve() if webhook_secret else None,
    )


def _write_private(path: Path, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise CreateAppError(f"cannot write {path}: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), 0o600)  # whatever the umask
        file.write(text if text.endswith("\n") else text + "\n")


def describe(app: CreatedApp, config: Config, out: TextIO) -> None:
    """What was made, what to add to the configuration, what to do next."""
    lines = [
        f"created the GitHub App {app.slug} (id {app.app_id}) owned by {app.owner}: {app.html_url}",
        f"wrote {app.private_key_file} (the private key), readable by you only",
    ]
    if app.webhook_secret_file is not None:
        lines.append(f"wrote {app.webhook_secret_file} (the webhook secret), readable by you only")
    lines += ["", "Add to the configuration:", "", "[github]", "enabled = true"]
    if config.github.api_url.rstrip("/") != DEFAULT_API_URL:
        lines.append(f'api_url = "{config.github.api_url}"')
    lines += [f"app_id = {app.app_id}", f'private_key = "file:{app.private_key_file}"']
    if app.webhook_secret_file is not None:
        lines.append(f'webhook_secrets = ["file:{app.webhook_secret_file}"]')
    else:
        lines.append(
            "# GitHub gave no webhook secret: set one in the App's settings and list it in "
            "webhook_secrets"
        )
    lines += [
        "",
        "Next:",
        f"  1. install the App on your repositories: {app.html_url}/installations/new",
        "  2. chatops doctor   checks the App's key and where it is installed",
        f"  3. chatops serve    where GitHub reaches the App's webhook, {app.webhook_url}",
    ]
    print("\n".join(lines), file=out)


@dataclass(eq=False)
class _Flow:
    """The local page and the callback, and the code the callback hands over."""

    state: str
    action: str = ""
    manifest: dict[str, Any] = field(default_factory=dict)
    code: asyncio.Future[str] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self._form)
        app.router.add_get(CALLBACK_PATH, self._callback)
        return app

    async def _form(self, request: web.Request) -> web.Response:
        del request
        page = (
            '<!doctype html>\n<meta charset="utf-8">\n<title>Create the GitHub App</title>\n'
            f'<form id="manifest" method="post" action="{html.escape(self.action)}">\n'
            '<input type="hidden" name="manifest" '
            f'value="{html.escape(json.dumps(self.manifest))}">\n'
            "<p>Sending the App's manifest to GitHub ... "
            '<button type="submit">Continue on GitHub</button></p>\n</form>\n'
            '<script>document.getElementById("manifest").submit()</script>\n'
        )
        return web.Response(text=page, content_type="text/html")

    async def _callback(self, request: web.Request) -> web.Response:
        state, code = request.query.get("state", ""), request.query.get("code", "")
        if not hmac.compare_digest(state.encode(), self.state.encode()):
            return _page(400, "This answer is not for the running chatops github create-app.")
        if not code:
            return _page(400, "GitHub sent no code: run chatops github create-app again.")
        if not self.code.done():
            self.code.set_result(code)
        return _page(200, "GitHub created the App: the terminal says what to do next.")


def _page(status: int, message: str) -> web.Response:
    text = f'<!doctype html>\n<meta charset="utf-8">\n<p>{html.escape(message)}</p>\n'
    return web.Response(status=status, text=text, content_type="text/html")
