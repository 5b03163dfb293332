"""A ``Reply`` as a GitLab note body: Markdown within GitLab's limit, marker-tagged. Pure.

The layout, the escaping and the marker are ``connectors.markdown``'s, shared with GitHub;
this module holds what is GitLab's: the size limit. A body is never longer than
``MAX_NOTE_CHARS``; whatever is cut is cut by ``render_markdown``, which keeps the marker.
"""

from __future__ import annotations

from bot.messages import Outgoing
from connectors.markdown import Comment
from connectors.markdown import render_comment as render_forge_comment

# GitLab refuses note bodies over 1,000,000 characters.
MAX_NOTE_CHARS = 1_000_000


def render_note(message: Outgoing) -> Comment:
    return render_forge_comment(message, MAX_NOTE_CHARS)
