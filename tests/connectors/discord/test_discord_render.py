"""Rendering replies as Discord messages: whole payloads, limits, and no pings."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.messages import Field, Link, Reply, Status, Table
from connectors.discord.render import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FIELDS_LIMIT,
    TITLE_LIMIT,
    embed_size,
    escape,
    render_message,
)

NONE = {"parse": [], "replied_user": False}


def test_every_part_lands_in_one_embed() -> None:
    reply = Reply(
        title="acme/web#12: 2 checks failed",
        status=Status.ERROR,
        paragraphs=("Head 1a2b3c.", "Started by <@53908232506183680>."),
        fields=(Field("conclusion", "failure"),),
        table=Table(headers=("check", "state"), rows=(("lint", "failed"), ("unit tests", "ok"))),
        links=(Link("run", "https://ci.example/runs/1"), Link("odd", "javascript:alert(1)")),
        code="make test",
    )

    assert render_message(reply) == {
        "embeds": [
            {
                "title": "acme/web\\#12: 2 checks failed",
                "color": 0xE74C3C,
                "description": (
                    "Head 1a2b3c.\n\n"
                    "Started by \\<@53908232506183680\\>.\n\n"
                    "```\ncheck       state\nlint        failed\nunit tests  ok\n```\n\n"
                    "[run](<https://ci.example/runs/1>)\n\n"
                    "odd: javascript:alert\\(1\\)\n\n"
                    "```\nmake test\n```"
                ),
                "fields": [{"name": "conclusion", "value": "failure", "inline": False}],
            }
        ],
        "allowed_mentions": NONE,
    }


def test_a_title_alone_is_plain_content() -> None:
    assert render_message(Reply(title="done: @here")) == {
        "content": "done: @\u200bhere",
        "allowed_mentions": NONE,
    }


def test_code_cannot_close_its_block_or_ping() -> None:
    message = render_message(Reply(title="t", code="```\n@everyone"))

    assert message["embeds"][0]["description"] == "```\n`\u200b`\u200b`\u200b\n@\u200beveryone\n```"


def test_long_text_is_cut_with_a_count_of_what_was_left_out() -> None:
    message = render_message(Reply(title="x" * 300, paragraphs=("y" * 5000,)))
    embed = message["embeds"][0]

    assert embed["title"] == "x" * 228 + "\n... and 72 more characters"
    assert embed["description"] == "y" * 4067 + "\n... and 933 more characters"
    assert (len(embed["title"]), len(embed["description"])) == (255, 4095)


def test_fields_beyond_what_fits_are_counted_in_the_footer() -> None:
    fields = tuple(Field(f"name {i}", "v" * 1000) for i in range(30))
    embed = render_message(Reply(title="many", fields=fields))["embeds"][0]

    assert len(embed["fields"]) == 5
    assert embed["footer"] == {"text": "... and 25 more fields"}
    assert embed_size(embed) <= EMBED_TOTAL_LIMIT


def test_a_long_table_drops_rows_and_says_how_many() -> None:
    rows = tuple((f"row {i}", "x" * 50) for i in range(200))
    embed = render_message(Reply(title="t", table=Table(headers=("a", "b"), rows=rows)))["embeds"][
        0
    ]

    assert embed["description"].endswith("```\n... and 133 more rows")
    assert len(embed["description"]) <= DESCRIPTION_LIMIT


def test_escape_neutralises_markdown_and_mentions() -> None:
    assert escape("**bold** <@&1> [x](y) @Everyone ~~s~~ # h") == (
        "\\*\\*bold\\*\\* \\<@&1\\> \\[x\\]\\(y\\) @\u200bEveryone \\~\\~s\\~\\~ \\# h"
    )


texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=3000) | st.sampled_from(
    ["@everyone", "@here", "<@123>", "<@&456>", "```", "`"]
)


@given(
    title=texts,
    paragraphs=st.lists(texts, max_size=4),
    fields=st.lists(st.tuples(texts, texts), max_size=30),
    code=st.none() | texts,
)
def test_any_reply_fits_discords_limits_and_cannot_ping(
    title: str, paragraphs: list[str], fields: list[tuple[str, str]], code: str | None
) -> None:
    reply = Reply(
        title=title,
        paragraphs=tuple(paragraphs),
        fields=tuple(Field(n, v) for n, v in fields),
        code=code,
    )
    message = render_message(reply)

    assert message["allowed_mentions"] == NONE
    if "content" in message:
        assert len(message["content"]) <= CONTENT_LIMIT
        texts_out = [message["content"]]
    else:
        (embed,) = message["embeds"]
        assert len(embed["title"]) <= TITLE_LIMIT
        assert len(embed.get("description", "")) <= DESCRIPTION_LIMIT
        assert len(embed.get("fields", [])) <= FIELDS_LIMIT
        assert all(len(f["name"]) <= FIELD_NAME_LIMIT for f in embed.get("fields", []))
        assert all(len(f["value"]) <= FIELD_VALUE_LIMIT for f in embed.get("fields", []))
        assert embed_size(embed) <= EMBED_TOTAL_LIMIT
        texts_out = [embed["title"], embed.get("description", "")]
        texts_out += [f["name"] + f["value"] for f in embed.get("fields", [])]
    for text in texts_out:
        assert "@everyone" not in text.lower()
        assert "@here" not in text.lower()
