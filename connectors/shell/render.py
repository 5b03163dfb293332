"""Render a ``Reply`` as plain text for a terminal. Pure; no I/O.

The title comes first, then paragraphs, ``name: value`` fields, an aligned
table, links and an indented code block, separated by blank lines only where
that helps reading. Text is printed as is: a terminal has no mentions to
neutralise and no markup to escape.
"""

from __future__ import annotations

from bot.messages import Reply, Table


def render_text(reply: Reply) -> str:
    blocks: list[str] = [reply.title]
    if reply.paragraphs:
        blocks.append("\n".join(reply.paragraphs))
    if reply.fields:
        blocks.append("\n".join(_field(f.name, f.value) for f in reply.fields))
    if reply.table is not None:
        blocks.append(_table(reply.table))
    if reply.links:
        blocks.append("\n".join(f"{link.text}: {link.url}" for link in reply.links))
    if reply.code is not None:
        blocks.append("\n".join("    " + line for line in reply.code.splitlines()))
    return "\n".join(blocks)


def _field(name: str, value: str) -> str:
    lines = value.splitlines() or [""]
    if len(lines) == 1:
        return f"{name}: {lines[0]}"
    return "\n".join([f"{name}:", *("  " + line for line in lines)])


def _table(table: Table) -> str:
    rows = [table.headers, *table.rows]
    widths = [
        max(len(row[i]) if i < len(row) else 0 for row in rows) for i in range(len(table.headers))
    ]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
