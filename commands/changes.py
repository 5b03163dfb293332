"""What the CI commands share: the change a command is about, and how times read.

``open_change`` turns the resolved target into the forge client and the pull/merge request
(``Change``) the command acts on, or a usage error that says what to name. A ``NotFound``
from the forge is left to the router, which answers "Not found" naming the target.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.ci.records import Origin
from bot.ci.replies import change_ref
from bot.context import Context
from bot.durations import format_duration
from bot.errors import UsageError
from bot.forge import Change, ForgeClient
from bot.messages import Forge, TargetKind

CHANGE_KINDS = (TargetKind.PULL_REQUEST, TargetKind.MERGE_REQUEST)


async def open_change(ctx: Context, command: str) -> tuple[ForgeClient, Change]:
    """The forge client and the change ``ctx.target`` names, or a ``UsageError``."""
    target = ctx.target
    if target is None:
        raise UsageError(
            f"`{command}` needs a pull request: say `{command} owner/repo#12`, run it in the "
            "pull request's thread, or set this channel's repository with `use owner/repo`"
        )
    if target.number is None or target.kind not in CHANGE_KINDS:
        raise UsageError(
            f"`{command}` works on a pull or merge request, and {target.display} is not one "
            f"(say `{command} owner/repo#12`)"
        )
    client = ctx.services.forges.client_for(target)
    return client, await client.change(target.repo, target.number)


def origin(ctx: Context) -> Origin:
    """Where the asker waits for a result: the place the command came from."""
    return Origin(
        target=ctx.invocation.reply_to,
        asked_by=ctx.actor.name,
        invocation_id=ctx.invocation.id,
    )


def label(change: Change) -> str:
    """How replies name a change: ``acme/web#12`` or ``group/project!5``, no forge prefix."""
    target = change.target
    return change_ref(target.forge or Forge.GITHUB, target.repo, target.number, change.head_sha)


def when(at: datetime, now: datetime) -> str:
    """``2026-11-21 14:03 UTC (5m ago)``: a time people can place, and how long ago it was."""
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC ({format_duration(now - at)} ago)"
