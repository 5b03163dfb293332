"""Reply -> Block Kit: whole payloads, escaping, and Slack's size limits."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bot.messages import Field, Link, Reply, Status, Table
from connectors.slack.render import (
    MAX_BLOCKS,
    MAX_FIELD_TEXT,
    MAX_SECTION_TEXT,
    SlackMessage,
    escape,
    render_reply,
)


def section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_every_part_renders_in_order_with_a_footer() -> None:
    reply = Reply(
        title="acme/web#12",
        status=Status.WARNING,
        paragraphs=("Two checks failed.", "Re-run them with `rerun`."),
        fields=(Field("branch", "main"), Field("author", "octocat")),
        table=Table(headers=("check", "state"), rows=(("lint", "failed"), ("unit tests", "ok"))),
        code="make test\nexit 2",
        links=(Link("Run 7", "https://ci.example/runs/7?a=1&b=2"), Link("", "https://x.example")),
    )

    message = render_reply(reply, context="/chatops status acme/web#12 · asked by ada")

    assert message == SlackMessage(
        text="acme/web#12\nTwo checks failed.\nRe-run them with `rerun`.",
        blocks=(
            section(":warning: *acme/web#12*"),
            section("Two checks failed."),
            section("Re-run them with `rerun`."),
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*branch*\nmain"},
                    {"type": "mrkdwn", "text": "*author*\noctocat"},
                ],
            },
            section("```\ncheck       state\nlint        failed\nunit tests  ok\n```"),
            section("```\nmake test\nexit 2\n```"),
            section("<https://ci.example/runs/7?a=1&amp;b=2|Run 7>\n<https://x.example>"),
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": "/chatops status acme/web#12 · asked by ada"}
                ],
            },
        ),
    )


def test_user_text_cannot_ping_or_inject_markup_anywhere() -> None:
    evil = "<!channel> <!here> <@U123> <!subteam^S1> <https://evil|click> & more"
    reply = Reply(
        title=evil,
        status=Status.ERROR,
        paragraphs=(evil,),
        fields=(Field(evil, evil),),
        table=Table(headers=("a",), rows=((evil,),)),
        code=evil + "\n```",
        links=(Link(evil, "https://ok.example/?q=<!channel>|x"),),
    )
    safe = (
        "&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &lt;!subteam^S1&gt; "
        "&lt;https://evil|click&gt; &amp; more"
    )

    message = render_reply(reply, context=evil)

    assert message.payload() == {
        "text": f"{safe}\n{safe}",
        "blocks": [
            section(f":x: *{safe}*"),
            section(safe),
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{safe}*\n{safe}"}]},
            section(f"```\na\n{safe}\n```"),
            section(f"```\n{safe}\n`\u200b`\u200b`\n```"),
            section(f"<https://ok.example/?q=&lt;!channel&gt;%7Cx|{safe}>"),
            {"type": "context", "elements": [{"type": "mrkdwn", "text": safe}]},
        ],
    }


def test_more_than_fifty_blocks_end_with_how_many_were_left_out() -> None:
    reply = Reply(title="many", paragraphs=tuple(f"p{i}" for i in range(60)))

    blocks = render_reply(reply, context="footer").blocks

    assert blocks == (
        section(":information_source: *many*"),
        *(section(f"p{i}") for i in range(47)),
        section("... and 13 more sections"),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "footer"}]},
    )
    assert len(blocks) == MAX_BLOCKS


def test_a_long_line_is_cut_by_characters_within_the_section_limit() -> None:
    blocks = render_reply(Reply(title="t", paragraphs=("x" * 5000,))).blocks

    assert blocks[1] == section("x" * 2971 + " ... and 2029 more characters")
    assert len("x" * 2971 + " ... and 2029 more characters") <= MAX_SECTION_TEXT


def test_long_text_is_cut_at_a_line_and_entities_are_never_split() -> None:
    lines = [f"{i:03d} " + "&" * 16 for i in range(100)]  # 4 + 80 characters once escaped

    text = render_reply(Reply(title="t", paragraphs=("\n".join(lines),))).blocks[1]["text"]

    kept = 2999 // 85
    expected = "\n".join(
        [escape(line) for line in lines[:kept]] + [f"... and {100 - kept} more lines"]
    )
    assert text == {"type": "mrkdwn", "text": expected}
    assert len(expected) <= MAX_SECTION_TEXT


def test_a_long_table_counts_the_rows_left_out() -> None:
    rows = tuple((f"check-{i:03d}", "ok") for i in range(400))

    text = render_reply(Reply(title="t", table=Table(("check", "state"), rows))).blocks[1]

    body = text["text"]["text"]
    shown = body.removeprefix("```\n").removesuffix("\n```").split("\n")
    assert shown[0] == "check      state"
    assert shown[1:-1] == [f"check-{i:03d}  ok" for i in range(len(shown) - 2)]
    assert shown[-1] == f"... and {400 - (len(shown) - 1) + 1} more rows"
    assert len(body) <= MAX_SECTION_TEXT < len(body) + 20


def test_many_fields_split_into_sections_of_ten_and_long_values_are_cut() -> None:
    fields = (*(Field(f"f{i}", "v") for i in range(12)), Field("long", "y" * 3000))

    blocks = render_reply(Reply(title="t", fields=fields)).blocks

    assert [len(block["fields"]) for block in blocks[1:]] == [10, 3]
    last = blocks[2]["fields"][-1]["text"]
    assert last == "*long*\n" + "y" * 1761 + " ... and 1239 more characters"
    assert len(last) <= MAX_FIELD_TEXT


def test_many_links_are_counted_never_cut_in_half() -> None:
    links = tuple(Link(f"link {i}", f"https://example.com/{'a' * 80}/{i}") for i in range(60))

    text = render_reply(Reply(title="t", links=links)).blocks[1]["text"]["text"]

    lines = text.split("\n")
    assert lines[:-1] == [
        f"<https://example.com/{'a' * 80}/{i}|link {i}>" for i in range(len(lines) - 1)
    ]
    assert lines[-1] == f"... and {60 - (len(lines) - 1)} more links"
    assert len(text) <= MAX_SECTION_TEXT


@given(
    title=st.text(max_size=200),
    paragraphs=st.lists(st.text(max_size=4000), max_size=60),
    code=st.none() | st.text(max_size=5000),
    cells=st.lists(st.text(max_size=50), max_size=300),
)
def test_any_reply_fits_slack_and_holds_no_markup(
    title: str, paragraphs: list[str], code: str | None, cells: list[str]
) -> None:
    reply = Reply(
        title=title,
        paragraphs=tuple(paragraphs),
        code=code,
        table=Table(("cell",), tuple((cell,) for cell in cells)) if cells else None,
    )

    message = render_reply(reply, context=title)

    assert len(message.blocks) <= MAX_BLOCKS
    texts = [block["text"]["text"] for block in message.blocks if "text" in block]
    assert all(len(text) <= MAX_SECTION_TEXT for text in texts)
    serialized = json.dumps(message.payload(), ensure_ascii=False)
    assert "<" not in serialized
    assert ">" not in serialized
