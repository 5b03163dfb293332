"""Render a ``Reply`` as forge-flavoured Markdown (GitHub, GitLab). Pure; no I/O.

Layout, top to bottom: the quoted command line being answered, a status icon and the
bold title, paragraphs, fields as a list of ``name: value``, the reply's table, links, and a
fenced code block. A table longer than ``FOLD_ROWS`` rows, or code longer than
``FOLD_LINES`` lines, is folded into ``<details>``. A hidden ``<!-- chatops:... -->``
marker may close the body, so the bot can find its own comment again and edit it.

``render_comment`` is what both forges post: the command line a reply answers quoted
first (the target's ``quote`` hint), the reply, and a marker naming the outbox key, or,
for a long-lived comment (a target with a ``sticky`` hint, such as the per-PR summary),
that role: ``sticky:<name>``. The sender looks for its own comment with that marker to
edit it in place, or, on a retry, not to post it twice.

Invariants:
- All ``Reply`` text is plain text: Markdown and HTML in it are escaped, and mentions
  (``@user``, ``@org/team``, ``@all``) are broken with a zero-width space so that echoed
  user text never pings anyone. Code goes into a fence longer than any backtick run in it.
- The one markup ``Reply`` text may carry is an inline code span (`` `help` ``), as on
  Slack and Discord: a backtick run, text on the same line, and a run of the same length
  is passed through unchanged, so it shows as code. A code span is inert on both forges
  (no markup, HTML, links or mentions inside it), so echoed text gains nothing by using
  one. A span holding ``|`` (it would split a table cell) or ``<!--`` (it would look like
  a marker) is escaped as plain text instead, as is an unmatched backtick.
- The result is at most ``limit`` characters. When the body would be longer, whole lines
  are dropped from the end and "... and N more lines" is said instead; an open code fence
  or ``<details>`` is closed first, and the marker is always kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.messages import Outgoing, Reply, Status, Table

FOLD_ROWS = 15
FOLD_LINES = 25
STATUS_ICONS = {
    Status.OK: "✅",
    Status.INFO: "\N{INFORMATION SOURCE}\N{VARIATION SELECTOR-16}",
    Status.RUNNING: "⏳",
    Status.WARNING: "⚠️",
    Status.ERROR: "❌",
}
_MENTION = re.compile(r"@(?=[A-Za-z0-9_])")
_ESCAPED = re.compile(r"([\\`*_\[\]~|])")
# line starts that Markdown reads as a heading, quote, list item or setext underline
_BLOCK_START = re.compile(r"^(\s*)(>|[#+-](?=\s|$)|=+\s*$|\d+[.)](?=\s|$))", re.MULTILINE)
_ZERO_WIDTH_SPACE = "&#8203;"
# CommonMark's code span on one line: a backtick run, then text, then a run as long
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)([^\n]+?)(?<!`)\1(?!`)")
_NOT_IN_SPANS = ("|", "<!--")


@dataclass(frozen=True, slots=True)
class MarkdownOptions:
    """What a forge's Markdown needs beyond the reply itself."""

    limit: int  # the forge's maximum comment length, in characters
    quote: str | None = None  # the command line being answered, quoted on top
    marker: str | None = None  # hidden marker content, without the comment delimiters


def marker_comment(marker: str) -> str:
    """The hidden HTML comment that tags a bot comment; ``--`` cannot occur inside it."""
    return f"<!-- chatops:{marker.replace('--', '- -')} -->"


@dataclass(frozen=True, slots=True)
class Comment:
    """A reply as a forge comment body, with the marker to find that comment again."""

    body: str
    marker: str  # the hidden marker as it appears in ``body``
    sticky: bool  # a long-lived comment, edited in place whenever it exists


def render_comment(message: Outgoing, limit: int) -> Comment:
    """``message``'s reply as a comment of at most ``limit`` characters (module docstring)."""
    target = message.target
    sticky = target.hint("sticky")
    marker = f"sticky:{sticky}" if sticky else message.key
    options = MarkdownOptions(limit=limit, quote=target.hint("quote"), marker=marker)
    body = render_markdown(message.reply, options)
    return Comment(body=body, marker=marker_comment(marker), sticky=bool(sticky))


def render_markdown(reply: Reply, options: MarkdownOptions) -> str:
    lines: list[str] = []
    if options.quote:
        lines.extend(f"> {escape_text(line)}" for line in options.quote.splitlines())
        lines.append("")
    lines.append(f"{STATUS_ICONS[reply.status]} **{escape_text(reply.title)}**")
    for paragraph in reply.paragraphs:
        lines.extend(["", *(escape_text(line) for line in paragraph.splitlines())])
    if reply.fields:
        lines.append("")
        lines.extend(f"- **{escape_text(f.name)}**: {_cell(f.value)}" for f in reply.fields)
    if reply.table is not None:
        lines.append("")
        rows = _table(reply.table)
        count = len(reply.table.rows)
        if count > FOLD_ROWS:
            lines.extend(_folded(f"{count} rows", rows))
        else:
            lines.extend(rows)
    if reply.links:
        links = " · ".join(f"[{escape_text(link.text)}]({_url(link.url)})" for link in reply.links)
        lines.extend(["", links])
    if reply.code is not None:
        lines.append("")
        fenced = _fence(reply.code)
        code_lines = reply.code.count("\n") + 1
        lines.extend(_folded(f"{code_lines} lines", fenced) if code_lines > FOLD_LINES else fenced)
    tail = "" if options.marker is None else "\n\n" + marker_comment(options.marker)
    return _fit(lines, options.limit - len(tail)) + tail


def escape_text(text: str) -> str:
    """Plain text as inert Markdown: no markup, no HTML, no mentions; code spans kept."""
    return "\n".join(_escape_line(line) for line in text.split("\n"))


def _escape_line(line: str) -> str:
    parts: list[str] = []
    position = 0
    for span in _CODE_SPAN.finditer(line):
        if any(unsafe in span.group(2) for unsafe in _NOT_IN_SPANS):
            continue
        parts.append(_escape_plain(line[position : span.start()], line_start=position == 0))
        parts.append(span.group(0))
        position = span.end()
    parts.append(_escape_plain(line[position:], line_start=position == 0))
    return "".join(parts)


def _escape_plain(text: str, *, line_start: bool) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _ESCAPED.sub(r"\\\1", text)
    if line_start:
        text = _BLOCK_START.sub(_escape_block_start, text)
    return _MENTION.sub("@" + _ZERO_WIDTH_SPACE, text)


def _escape_block_start(match: re.Match[str]) -> str:
    indent, marker = match.group(1), match.group(2)
    if marker[0].isdigit():  # "1." is escaped as "1\.": a backslash only escapes punctuation
        return f"{indent}{marker[:-1]}\\{marker[-1]}"
    return f"{indent}\\{marker}"


def _table(table: Table) -> list[str]:
    width = len(table.headers)
    header = "| " + " | ".join(escape_text(h) for h in table.headers) + " |"
    rule = "|" + "|".join(" --- " for _ in range(width)) + "|"
    rows = [
        "| " + " | ".join(_cell(row[i] if i < len(row) else "") for i in range(width)) + " |"
        for row in table.rows
    ]
    return [header, rule, *rows]


def _cell(text: str) -> str:
    return escape_text(text).replace("\n", "<br>")


def _url(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _fence(code: str) -> list[str]:
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, *code.splitlines(), fence]


def _folded(summary: str, body: Iterable[str]) -> list[str]:
    return ["<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>"]


def _fit(lines: list[str], limit: int) -> str:
    """Join ``lines``; if longer than ``limit``, keep a prefix and say how much was cut."""
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    state = _OpenBlocks()
    size = 0
    trailer = state.trailer(len(lines))
    kept = 0
    for index, line in enumerate(lines):
        after = state.after(line)
        after_trailer = after.trailer(len(lines) - index - 1)
        if size + len(line) + len(after_trailer) > limit:
            break
        state, trailer, kept = after, after_trailer, index + 1
        size += len(line) + 1
    return "\n".join(lines[:kept]) + trailer


@dataclass(frozen=True, slots=True)
class _OpenBlocks:
    """The code fence and ``<details>`` left open by the lines so far."""

    fence: str | None = None
    details: int = 0

    def after(self, line: str) -> _OpenBlocks:
        if self.fence is not None:
            return _OpenBlocks(None, self.details) if line == self.fence else self
        if line.startswith("```"):
            return _OpenBlocks(line, self.details)
        if line == "<details>":
            return _OpenBlocks(None, self.details + 1)
        if line == "</details>":
            return _OpenBlocks(None, self.details - 1)
        return self

    def trailer(self, omitted: int) -> str:
        closers = ([self.fence] if self.fence else []) + ["</details>"] * self.details
        return "".join("\n" + c for c in [*closers, "", f"... and {omitted} more lines"])
