"""A ``Reply`` as a GitHub comment body: Markdown within GitHub's limit, marker-tagged. Pure.

The layout, the escaping and the marker are ``connectors.markdown``'s, shared with GitLab;
this module holds what is GitHub's: the size limit. A body is never longer than
``MAX_COMMENT_CHARS``; whatever is cut is cut by ``render_markdown``, which keeps the marker.
"""

from __future__ import annotations

from bot.messages import Outgoing
from connectors.markdown import Comment
from connectors.markdown import render_comment as render_forge_comment

# GitHub refuses comment bodies over 65,536 characters.
MAX_COMMENT_CHARS = 65536


def render_comment(message: Outgoing) -> Comment:
    return render_forge_comment(message, MAX_COMMENT_CHARS)
