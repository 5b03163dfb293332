"""Render a ``Reply`` as a Discord message payload (JSON-ready dict). Pure; no I/O.

A reply with parts becomes one embed: the title, a colour for its status, a description
(paragraphs, the table as an aligned code block, links, the code block) and up to 25
fields. A reply that is only a title becomes plain ``content``.

Discord's limits (developer docs, resources/message: "Embed Limits" and "Create Message")
are enforced here, never left to a 400 from the API: content 2,000 characters; embed title
256, description 4,096, 25 fields, field name 256 and value 1,024, footer 2,048, and 6,000
characters across the embed. What does not fit is cut and says so: "... and N more".

Invariants:
- Every payload carries ``ALLOWED_MENTIONS`` (no one, not even the replied-to author), so a
  message can never ping, whatever it contains.
- Text from a ``Reply`` is plain text: Markdown and mention syntax in it is escaped, so it
  shows as typed (``@everyone`` gets a zero-width space after the ``@`` as well, in case a
  client renders it without asking the server).
- Backticks are left alone, so handlers' inline code (`` `help` ``) still reads as code; a
  code span cannot ping or link anyone.
"""

from __future__ import annotations

import re
from typing import Any

from bot.messages import Reply, Status, Table

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELDS_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000

ALLOWED_MENTIONS: dict[str, Any] = {"parse": [], "replied_user": False}

COLOURS = {
    Status.OK: 0x2ECC71,
    Status.INFO: 0x5865F2,
    Status.RUNNING: 0xF1C40F,
    Status.WARNING: 0xE67E22,
    Status.ERROR: 0xE74C3C,
}

_MARKDOWN = re.compile(r"([\\*_~|<>\[\]()#-])")
_BROADCAST = re.compile(r"@(everyone|here)", re.IGNORECASE)
_FENCE = "```"
_SAFE_URL = re.compile(r"https?://[^\s()<>]+", re.IGNORECASE)


def render_message(reply: Reply) -> dict[str, Any]:
    """The body of a create-message, follow-up or edit request for ``reply``."""
    if _title_only(reply):
        return {"content": _cut(escape(reply.title), CONTENT_LIMIT), "allowed_mentions": _none()}
    return {"embeds": [render_embed(reply)], "allowed_mentions": _none()}


def render_embed(reply: Reply) -> dict[str, Any]:
    title = _cut(escape(reply.title), TITLE_LIMIT)
    fields: list[dict[str, Any]] = [
        {
            "name": _cut(escape(f.name), FIELD_NAME_LIMIT) or "\u200b",
            "value": _cut(escape(f.value), FIELD_VALUE_LIMIT) or "\u200b",
            "inline": False,
        }
        for f in reply.fields
    ]
    footer = ""
    budget = EMBED_TOTAL_LIMIT - len(title)
    kept: list[dict[str, Any]] = []
    for item in fields[:FIELDS_LIMIT]:
        size = len(item["name"]) + len(item["value"])
        # leave room for a footer that names what was left out
        if size > budget - 64:
            break
        kept.append(item)
        budget -= size
    if len(kept) < len(fields):
        footer = f"... and {len(fields) - len(kept)} more fields"
        budget -= len(footer)
    description = _description(reply, min(DESCRIPTION_LIMIT, max(budget, 0)))
    embed: dict[str, Any] = {"title": title, "color": COLOURS[reply.status]}
    if description:
        embed["description"] = description
    if kept:
        embed["fields"] = kept
    if footer:
        embed["footer"] = {"text": footer}
    return embed


def escape(text: str) -> str:
    """``text`` as Discord should show it: no Markdown, no mentions, no pings."""
    escaped = _MARKDOWN.sub(r"\\\1", text)
    return _BROADCAST.sub("@\u200b\\1", escaped)


def embed_size(embed: dict[str, Any]) -> int:
    """The characters Discord counts towards the 6,000 limit of one embed."""
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", ()))
    return size + len(embed.get("footer", {}).get("text", ""))


def _title_only(reply: Reply) -> bool:
    return not (reply.paragraphs or reply.fields or reply.table or reply.links or reply.code)


def _none() -> dict[str, Any]:
    return {"parse": [], "replied_user": False}


def _description(reply: Reply, limit: int) -> str:
    blocks = [escape(p) for p in reply.paragraphs]
    if reply.table is not None:
        blocks.append(_table(reply.table, limit))
    for link in reply.links:
        text = escape(link.text)
        url = link.url if _SAFE_URL.fullmatch(link.url) else None
        blocks.append(f"[{text}](<{url}>)" if url else f"{text}: {escape(link.url)}")
    if reply.code is not None:
        blocks.append(_code_block(reply.code))
    return _cut("\n\n".join(b for b in blocks if b), limit)


def _table(table: Table, limit: int) -> str:
    """The table as an aligned code block, rows dropped from the end to fit ``limit``."""
    rows = [table.headers, *table.rows]
    widths = [
        max((len(r[i]) if i < len(r) else 0) for r in rows) for i in range(len(table.headers))
    ]
    lines = ["  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in rows]
    body = [_code_text(line) for line in lines]
    for keep in range(len(body), 0, -1):
        dropped = len(body) - keep
        note = f"\n... and {dropped} more rows" if dropped else ""
        text = f"{_FENCE}\n" + "\n".join(body[:keep]) + f"\n{_FENCE}" + note
        if len(text) <= limit:
            return text
    return f"... and {len(table.rows)} more rows"


def _code_block(code: str) -> str:
    return f"{_FENCE}\n{_code_text(code)}\n{_FENCE}"


def _code_text(text: str) -> str:
    """Text safe inside a code block: it cannot close the block or ping."""
    return _BROADCAST.sub("@\u200b\\1", text.replace("`", "`\u200b"))


def _cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters; a cut says how much was left out."""
    if len(text) <= limit:
        return text
    longest_note = len(f"\n... and {len(text)} more characters")
    if limit < longest_note:
        return text[:limit]
    keep = limit - longest_note
    return f"{text[:keep]}\n... and {len(text) - keep} more characters"
