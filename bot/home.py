"""``GET /``: a small page that says what answers here and where to look next.

The README points people at the bot's base URL; this page answers there with the version
and links to the operator endpoints (``healthz``, ``readyz``, ``metrics``) and to the
documentation: the package's ``Project-URL`` for its documentation, home page or source,
when the installed metadata names one, else a note that the README ships with the package.

Invariants:
- Pure apart from ``documentation_url``, which reads the installed package's metadata once,
  when the application is built (never at import, never per request).
- Every value placed in the page is HTML-escaped; the page has no scripts and no styles
  from elsewhere.
- Links to the endpoints are relative (``healthz``, not ``/healthz``), so the page works
  behind a reverse proxy that serves the bot under a path prefix.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Iterable
from importlib import metadata

from aiohttp import web

PACKAGE = "chatops-bridge"
# Project-URL labels that lead to documentation, best first
DOCUMENTATION_LABELS = ("documentation", "docs", "homepage", "home", "source", "repository")
ENDPOINTS = (
    ("healthz", "liveness: 200 while the process serves requests"),
    ("readyz", "readiness: database, workers and each platform's connection"),
    ("metrics", "Prometheus metrics"),
)


def documentation_url(package: str = PACKAGE) -> str | None:
    """The documentation link the installed package declares, if any."""
    try:
        project_urls = metadata.metadata(package).get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    return pick_documentation(project_urls)


def pick_documentation(project_urls: Iterable[str]) -> str | None:
    """From ``Project-URL`` values (``"Label, https://..."``), the best documentation link."""
    by_label: dict[str, str] = {}
    for entry in project_urls:
        label, _, url = entry.partition(",")
        url = url.strip()
        if url.startswith(("https://", "http://")):
            by_label.setdefault(label.strip().lower(), url)
    return next((by_label[label] for label in DOCUMENTATION_LABELS if label in by_label), None)


def render_home(version: str, docs_url: str | None) -> str:
    """The page's HTML."""
    items = "\n".join(
        f'<li><a href="{path}">/{path}</a>: {html.escape(what)}</li>' for path, what in ENDPOINTS
    )
    if docs_url is None:
        docs = "<p>Documentation: the README.md that comes with chatops-bridge.</p>"
    else:
        link = html.escape(docs_url, quote=True)
        docs = f'<p>Documentation: <a href="{link}">{html.escape(docs_url)}</a></p>'
    return (
        "<!doctype html>\n"
        '<html lang="en">\n'
        '<head><meta charset="utf-8"><title>chatops-bridge</title></head>\n'
        "<body>\n"
        f"<h1>chatops-bridge {html.escape(version)}</h1>\n"
        "<p>This is a chat-ops bot: it answers commands from GitHub, GitLab, Slack and "
        "Discord. Nothing to see here in a browser, apart from these:</p>\n"
        f"<ul>\n{items}\n</ul>\n"
        f"{docs}\n"
        "</body>\n"
        "</html>\n"
    )


def home_handler(
    version: str, docs_url: str | None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The ``GET /`` handler; the page is rendered once, here."""
    page = render_home(version, docs_url)

    async def home(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", charset="utf-8")

    return home
