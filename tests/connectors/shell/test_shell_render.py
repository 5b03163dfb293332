"""The terminal rendering of a reply, compared whole."""

from __future__ import annotations

from bot.messages import Field, Link, Reply, Status, Table
from connectors.shell.render import render_text


def test_every_part_is_rendered_in_order() -> None:
    reply = Reply(
        title="acme/web#12: 2 checks failed",
        status=Status.ERROR,
        paragraphs=("Head 1a2b3c.", "Started by @someone."),
        fields=(Field("conclusion", "failure"), Field("jobs", "lint\ntest")),
        table=Table(headers=("check", "state"), rows=(("lint", "failed"), ("unit tests", "ok"))),
        links=(Link("run", "https://ci.example/runs/1"),),
        code="line one\nline two",
    )
    assert render_text(reply) == (
        "acme/web#12: 2 checks failed\n"
        "Head 1a2b3c.\n"
        "Started by @someone.\n"
        "conclusion: failure\n"
        "jobs:\n"
        "  lint\n"
        "  test\n"
        "check       state\n"
        "lint        failed\n"
        "unit tests  ok\n"
        "run: https://ci.example/runs/1\n"
        "    line one\n"
        "    line two"
    )


def test_title_only() -> None:
    assert render_text(Reply(title="pong")) == "pong"
