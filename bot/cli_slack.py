"""``chatops slack manifest``: print the Slack app manifest (JSON) for this configuration,
in the configured mode unless ``--http`` or ``--socket`` says otherwise."""

from __future__ import annotations

import argparse
import json

from bot.config import Config
from bot.config.platforms.slack import HTTP, SOCKET
from connectors.slack.manifest import slack_manifest

EXIT_OK = 0


def slack(config: Config, args: argparse.Namespace) -> int:
    mode = HTTP if args.http else (SOCKET if args.socket else None)
    print(json.dumps(slack_manifest(config, mode=mode), indent=2))
    return EXIT_OK
