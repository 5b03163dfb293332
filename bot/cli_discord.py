"""``chatops discord invite-url``: print the URL that adds the bot to a Discord server."""

from __future__ import annotations

import argparse
import sys

from bot.config import Config
from connectors.discord.invite import InviteError, invite_url

EXIT_OK = 0
EXIT_ERROR = 1


def discord(config: Config, args: argparse.Namespace) -> int:
    try:
        print(invite_url(config.discord.application_id, args.guild))
    except InviteError as exc:
        print(f"chatops: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK
