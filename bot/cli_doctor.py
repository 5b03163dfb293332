"""``chatops doctor``: check the configuration, the database, each platform's credentials
and, where the forge's API shows them, its webhooks and a GitHub App's permissions
(``bot.doctor``, with the checks of ``connectors.doctor``; ``--repo`` adds repositories to
the webhook checks); exit 1 when a check failed."""

from __future__ import annotations

import argparse
import asyncio

from bot.clock import SystemClock
from bot.config import Config
from bot.doctor import diagnose, failed, render
from connectors.doctor import platform_checks, webhook_platforms

EXIT_OK = 0
EXIT_ERROR = 1


def doctor(config: Config, args: argparse.Namespace) -> int:
    return asyncio.run(_doctor(config, list(getattr(args, "repo", None) or ())))


async def _doctor(config: Config, repos: list[str]) -> int:
    clock = SystemClock()
    findings = await diagnose(
        config, platform_checks(config, clock, repos), webhook_platforms=webhook_platforms(config)
    )
    print(render(findings, [s.reveal() for s in config.config_secrets()]), end="")
    return EXIT_ERROR if failed(findings) else EXIT_OK
