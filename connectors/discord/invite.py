"""The OAuth2 URL that adds the bot to a Discord server: ``chatops discord invite-url``.

Scopes ``bot`` (the bot user joins the server) and ``applications.commands`` (the
``/chatops`` slash command). Permissions are the ones the connector uses, computed with
discord.py's own ``Permissions`` flags: View Channels (see the channel), Send Messages and
Send Messages in Threads (answers and notices), Embed Links (replies are embeds), Read
Message History (an answer is a reply to the command message). Nothing else: no mention of
@everyone, no privileged intent.

Pure: the application id in, the URL out.
"""

from __future__ import annotations

from urllib.parse import urlencode

import discord

AUTHORIZE_URL = "https://discord.com/oauth2/authorize"
SCOPES = ("bot", "applications.commands")


class InviteError(Exception):
    """Why no URL can be made, in one line for the operator."""


def bot_permissions() -> discord.Permissions:
    return discord.Permissions(
        view_channel=True,
        send_messages=True,
        send_messages_in_threads=True,
        embed_links=True,
        read_message_history=True,
    )


def invite_url(application_id: str, guild_id: str | None = None) -> str:
    """The URL; with ``guild_id`` the server is preselected on Discord's page."""
    if not application_id:
        raise InviteError(
            "set discord.application_id (Developer Portal, General Information, Application ID)"
        )
    query = {
        "client_id": application_id,
        "scope": " ".join(SCOPES),
        "permissions": str(bot_permissions().value),
    }
    if guild_id:
        query["guild_id"] = guild_id
    return f"{AUTHORIZE_URL}?{urlencode(query)}"
