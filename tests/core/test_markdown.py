"""The forge Markdown renderer: whole bodies, escaping, folding and the size cap."""

from __future__ import annotations

from bot.messages import Field, Link, Reply, Status, Table
from connectors.markdown import (
    STATUS_ICONS,
    MarkdownOptions,
    escape_text,
    marker_comment,
    render_markdown,
)

LIMIT = 65536
INFO = STATUS_ICONS[Status.INFO]


def test_a_full_reply_renders_every_part_in_order() -> None:
    reply = Reply(
        title="CI for acme/web#12",
        status=Status.WARNING,
        paragraphs=("Two checks failed.", "Say `restart` to run them again."),
        fields=(Field("head", "abc1234"), Field("author", "octocat")),
        table=Table(("check", "state"), (("lint", "passed"), ("test", "failed"))),
        links=(Link("run 42", "https://github.com/acme/web/actions/runs/42"),),
        code="pytest -q\n1 failed",
    )

    body = render_markdown(
        reply, MarkdownOptions(limit=LIMIT, quote="@chatops status", marker="reply:abc")
    )

    assert body == (
        "> @&#8203;chatops status\n"
        "\n"
        "⚠️ **CI for acme/web#12**\n"
        "\n"
        "Two checks failed.\n"
        "\n"
        "Say `restart` to run them again.\n"
        "\n"
        "- **head**: abc1234\n"
        "- **author**: octocat\n"
        "\n"
        "| check | state |\n"
        "| --- | --- |\n"
        "| lint | passed |\n"
        "| test | failed |\n"
        "\n"
        "[run 42](https://github.com/acme/web/actions/runs/42)\n"
        "\n"
        "```\n"
        "pytest -q\n"
        "1 failed\n"
        "```\n"
        "\n"
        "<!-- chatops:reply:abc -->"
    )


def test_echoed_user_text_cannot_ping_inject_html_or_markup() -> None:
    text = "@octocat @acme/security <img src=x> **bold** [x](y) | pipe & amp"

    assert escape_text(text) == (
        "@&#8203;octocat @&#8203;acme/security &lt;img src=x&gt; \\*\\*bold\\*\\* "
        "\\[x\\](y) \\| pipe &amp; amp"
    )


def test_line_starts_that_markdown_reads_as_blocks_are_escaped() -> None:
    assert escape_text("# not a heading\n- not a list\n1. nor this\n===\nv1.0 stays") == (
        "\\# not a heading\n\\- not a list\n1\\. nor this\n\\===\nv1.0 stays"
    )


def test_code_is_fenced_longer_than_any_backtick_run_inside() -> None:
    body = render_markdown(Reply(title="t", code="a ``` b"), MarkdownOptions(limit=LIMIT))

    assert body == INFO + " **t**\n\n````\na ``` b\n````"


def test_long_tables_and_code_fold_into_details() -> None:
    rows = tuple((str(i), "ok") for i in range(16))
    body = render_markdown(
        Reply(title="t", table=Table(("n", "state"), rows)), MarkdownOptions(limit=LIMIT)
    )

    expected_rows = "\n".join(f"| {i} | ok |" for i in range(16))
    assert body == (
        INFO + " **t**\n\n<details>\n<summary>16 rows</summary>\n\n"
        f"| n | state |\n| --- | --- |\n{expected_rows}\n\n</details>"
    )


def test_a_body_over_the_limit_keeps_the_longest_prefix_that_fits_and_counts_the_rest() -> None:
    rows = tuple((str(i), "x" * 50) for i in range(2000))
    reply = Reply(title="big", table=Table(("n", "v"), rows))
    full = render_markdown(reply, MarkdownOptions(limit=10**7)).split("\n")

    body = render_markdown(reply, MarkdownOptions(limit=LIMIT, marker="reply:1"))

    head, trailer = body.split("\n</details>\n\n... and ", 1)
    kept = head.split("\n")
    omitted = len(full) - len(kept)
    assert kept == full[: len(kept)]
    assert trailer == f"{omitted} more lines\n\n<!-- chatops:reply:1 -->"
    assert LIMIT - 60 < len(body) <= LIMIT  # one more row (57 characters) would not fit


def test_a_cut_inside_a_code_fence_closes_the_fence() -> None:
    code = "\n".join(f"line {i}" for i in range(30))
    body = render_markdown(Reply(title="t", code=code), MarkdownOptions(limit=200))

    assert len(body) == 200
    assert body == (
        INFO
        + " **t**\n\n<details>\n<summary>30 lines</summary>\n\n```\n"
        + "\n".join(f"line {i}" for i in range(15))
        + "\n```\n</details>\n\n... and 18 more lines"
    )


def test_markers_cannot_close_their_own_comment() -> None:
    assert marker_comment("sticky:summary") == "<!-- chatops:sticky:summary -->"
    assert marker_comment("a-->b") == "<!-- chatops:a- ->b -->"


def test_inline_code_spans_render_as_code_and_the_text_around_them_stays_escaped() -> None:
    text = "Say `help secrets` or ``a `tick` here``, not *this* @octocat"

    assert escape_text(text) == (
        "Say `help secrets` or ``a `tick` here``, not \\*this\\* @&#8203;octocat"
    )


def test_a_code_span_in_echoed_text_is_inert_and_unsafe_or_unmatched_ones_are_escaped() -> None:
    text = "- `@everyone <b>` then `a|b` and `<!-- chatops:x -->` and one ` left"

    assert escape_text(text) == (
        "\\- `@everyone <b>` then \\`a\\|b\\` and \\`&lt;!-- chatops:x --&gt;\\` and one \\` left"
    )


def test_a_line_that_starts_with_a_code_span_is_not_read_as_a_block() -> None:
    assert escape_text("`#1` first\n# second `x`") == "`#1` first\n\\# second `x`"
