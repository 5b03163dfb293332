"""``GET /``: the version, the operator endpoints and the documentation, as a whole page."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.config import Config, DatabaseSettings
from bot.home import documentation_url, pick_documentation, render_home
from bot.store.database import open_database
from bot.web import version


def page(version: str, docs: str) -> str:
    return (
        "<!doctype html>\n"
        '<html lang="en">\n'
        '<head><meta charset="utf-8"><title>chatops-bridge</title></head>\n'
        "<body>\n"
        f"<h1>chatops-bridge {version}</h1>\n"
        "<p>This is a chat-ops bot: it answers commands from GitHub, GitLab, Slack and "
        "Discord. Nothing to see here in a browser, apart from these:</p>\n"
        "<ul>\n"
        '<li><a href="healthz">/healthz</a>: liveness: 200 while the process serves '
        "requests</li>\n"
        '<li><a href="readyz">/readyz</a>: readiness: database, workers and each '
        "platform&#x27;s connection</li>\n"
        '<li><a href="metrics">/metrics</a>: Prometheus metrics</li>\n'
        "</ul>\n"
        f"{docs}\n"
        "</body>\n"
        "</html>\n"
    )


async def test_the_base_url_answers_with_the_home_page(database_url: str) -> None:
    database = await open_database(database_url, require_migrated=False)
    await database.migrate()
    await database.close()
    app = create_app(Config(database=DatabaseSettings(url=database_url)))
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        response = await client.get("/")
        body = await response.text()
        health = await client.get("/healthz")

    assert (response.status, response.content_type, response.charset) == (
        200,
        "text/html",
        "utf-8",
    )
    # the package declares no Project-URL: the page points at the README it ships
    assert documentation_url() is None
    assert body == page(
        version(), "<p>Documentation: the README.md that comes with chatops-bridge.</p>"
    )
    assert health.status == 200


def test_a_documentation_link_is_escaped_and_the_version_too() -> None:
    url = pick_documentation(
        [
            "Source, https://example.org/src",
            "Bug Tracker, https://example.org/issues",
            'Documentation, https://example.org/docs?a=1&b="2"',
        ]
    )

    assert url == 'https://example.org/docs?a=1&b="2"'
    assert render_home("1.0<b>", url) == page(
        "1.0&lt;b&gt;",
        '<p>Documentation: <a href="https://example.org/docs?a=1&amp;b=&quot;2&quot;">'
        "https://example.org/docs?a=1&amp;b=&quot;2&quot;</a></p>",
    )


def test_without_a_documentation_label_the_home_page_or_source_is_used() -> None:
    assert pick_documentation(["Source, https://example.org/src", "Tracker, x"]) == (
        "https://example.org/src"
    )
    assert pick_documentation(["Changelog, https://example.org/changes"]) is None
