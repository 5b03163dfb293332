"""Render a ``Reply`` as Slack Block Kit plus fallback ``text``. Pure; no I/O.

Layout, one block per part, in the order the shell renderer uses: a section with the
status icon and the bold title; a section per paragraph; the fields as section fields (ten
per section); the table and the code as code blocks; the links as one section of
``<url|text>`` links; then, when given, a context line saying who asked and how.

Invariants (limits from Slack's Block Kit reference and formatting guide):

- Every piece of text that comes from the ``Reply`` or the context passes through
  ``escape`` (``&``, ``<``, ``>`` only), so ``<!channel>``, ``<!here>``, ``<@U…>`` and
  ``<!subteam^…>`` arrive as literal text and can never ping anyone.
- At most ``MAX_BLOCKS`` blocks; a section's text is at most ``MAX_SECTION_TEXT``
  characters and a field's at most ``MAX_FIELD_TEXT``; the fallback text at most
  ``MAX_FALLBACK_TEXT``. Whatever is cut ends with ``... and N more <unit>``.
- Cutting happens on the unescaped text, so an entity such as ``&amp;`` is never split.

Deliberately not done: no Markdown translation (handlers write `code` in backticks, which
Slack's mrkdwn shows as code already), no attachments, no interactive elements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.messages import Field, Link, Reply, Status, Table

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS_PER_SECTION = 10
MAX_FALLBACK_TEXT = 3000

ICONS = {
    Status.OK: ":white_check_mark:",
    Status.INFO: ":information_source:",
    Status.RUNNING: ":hourglass_flowing_sand:",
    Status.WARNING: ":warning:",
    Status.ERROR: ":x:",
}

_FENCE = "```"
_BROKEN_FENCE = "`\u200b`\u200b`"  # three backticks that cannot close a code block

Block = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """What ``chat.postMessage`` (or a ``response_url``) receives: ``text`` and ``blocks``."""

    text: str
    blocks: tuple[Block, ...]

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": list(self.blocks)}


def escape(text: str) -> str:
    """Escape the three characters Slack reads as markup: ``&``, ``<`` and ``>``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_reply(reply: Reply, *, context: str | None = None) -> SlackMessage:
    """The Block Kit message for ``reply``; ``context`` is a plain-text footer line."""
    blocks: list[Block] = [_section(f"{ICONS[reply.status]} *{_fit(reply.title, _TITLE)}*")]
    blocks.extend(_section(_fit(paragraph, MAX_SECTION_TEXT)) for paragraph in reply.paragraphs)
    blocks.extend(_field_sections(reply.fields))
    if reply.table is not None:
        blocks.append(_code_section(_table_lines(reply.table), unit="row"))
    if reply.code is not None:
        blocks.append(_code_section(reply.code.split("\n"), unit="line"))
    if reply.links:
        blocks.append(_links_section(reply.links))
    footer = [_context(context)] if context else []
    blocks = _cap_blocks(blocks, MAX_BLOCKS - len(footer)) + footer
    return SlackMessage(text=_fallback(reply), blocks=tuple(blocks))


# The title shares its section with the icon and the bold markers.
_TITLE = MAX_SECTION_TEXT - 100


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _fit(text, 2000)}]}


def _field_sections(fields: Sequence[Field]) -> list[Block]:
    items = [
        {"type": "mrkdwn", "text": f"*{_fit(f.name, 200)}*\n{_fit(f.value, MAX_FIELD_TEXT - 210)}"}
        for f in fields
    ]
    return [
        {"type": "section", "fields": items[start : start + MAX_FIELDS_PER_SECTION]}
        for start in range(0, len(items), MAX_FIELDS_PER_SECTION)
    ]


def _code_section(lines: list[str], *, unit: str) -> Block:
    safe = [line.replace(_FENCE, _BROKEN_FENCE) for line in lines]
    # the fences and their newlines
    budget = MAX_SECTION_TEXT - 2 * (len(_FENCE) + 1)
    return _section(f"{_FENCE}\n{_fit_lines(safe, unit, budget)}\n{_FENCE}")


def _table_lines(table: Table) -> list[str]:
    rows = [table.headers, *table.rows]
    widths = [
        max(len(row[i]) if i < len(row) else 0 for row in rows) for i in range(len(table.headers))
    ]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]


def _links_section(links: Sequence[Link]) -> Block:
    """One ``<url|text>`` per line; links that do not fit are counted, never cut in half."""
    lines = [_link(link) for link in links]
    kept: list[str] = []
    for line in lines:
        left = len(lines) - len(kept) - 1
        tail = [_more(left, "link")] if left else []
        if len("\n".join([*kept, line, *tail])) > MAX_SECTION_TEXT:
            kept.append(_more(len(lines) - len(kept), "link"))
            break
        kept.append(line)
    return _section("\n".join(kept))


def _link(link: Link) -> str:
    url = escape(link.url[:1000]).replace("|", "%7C")
    return f"<{url}|{_fit(link.text, 200)}>" if link.text else f"<{url}>"


def _cap_blocks(blocks: list[Block], limit: int) -> list[Block]:
    if len(blocks) <= limit:
        return blocks
    kept = blocks[: limit - 1]
    return [*kept, _section(_more(len(blocks) - len(kept), "section"))]


def _fallback(reply: Reply) -> str:
    return _fit("\n".join([reply.title, *reply.paragraphs]), MAX_FALLBACK_TEXT)


def _more(count: int, unit: str) -> str:
    return f"... and {count} more {unit}{'' if count == 1 else 's'}"


def _fit(raw: str, budget: int) -> str:
    """``escape(raw)`` within ``budget`` characters: cut by lines if it has several."""
    escaped = escape(raw)
    if len(escaped) <= budget:
        return escaped
    if "\n" in raw:
        return _fit_lines(raw.split("\n"), "line", budget)
    return _cut_chars(raw, budget)


def _fit_lines(lines: list[str], unit: str, budget: int = MAX_SECTION_TEXT) -> str:
    """Escaped lines joined within ``budget``; the lines left out are counted in ``unit``."""
    pieces = [escape(line) for line in lines]
    whole = "\n".join(pieces)
    if len(whole) <= budget:
        return whole
    kept: list[str] = []
    size = -1  # no newline before the first line
    for piece in pieces:
        notice = _more(len(pieces) - len(kept) - 1, unit)
        if size + 1 + len(piece) + 1 + len(notice) > budget:
            break
        kept.append(piece)
        size += 1 + len(piece)
    if kept:
        return "\n".join([*kept, _more(len(pieces) - len(kept), unit)])
    if len(pieces) == 1:
        return _cut_chars(lines[0], budget)
    notice = _more(len(pieces) - 1, unit)  # the first line alone is too long: cut it too
    return _cut_chars(lines[0], budget - len(notice) - 1) + "\n" + notice


def _cut_chars(raw: str, budget: int) -> str:
    """Escaped ``raw`` cut by characters within ``budget``, ending with how many are left."""
    kept: list[str] = []
    size = 0
    for position, char in enumerate(raw):
        piece = escape(char)
        if size + len(piece) + 1 + len(_more(len(raw) - position, "character")) > budget:
            break
        kept.append(piece)
        size += len(piece)
    return "".join(kept) + " " + _more(len(raw) - len(kept), "character")
