"""``ping``: is the bot alive, which version, and for how long."""

from __future__ import annotations

from datetime import timedelta

from bot.arguments import NoArgs
from bot.context import Context
from bot.messages import Field, Reply, Status
from bot.router import Command


async def ping(ctx: Context, _args: NoArgs) -> Reply:
    uptime = ctx.clock.now() - ctx.services.started_at
    return Reply(
        title="pong",
        status=Status.OK,
        fields=(
            Field("version", ctx.services.version),
            Field("uptime", format_duration(uptime)),
        ),
    )


def format_duration(delta: timedelta) -> str:
    """``3d 4h``, ``5m 2s``, ``0s``: the two largest units, for people to read."""
    seconds = max(0, int(delta.total_seconds()))
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    parts: list[str] = []
    for suffix, size in units:
        amount, seconds = divmod(seconds, size)
        if amount or (suffix == "s" and not parts):
            parts.append(f"{amount}{suffix}")
    return " ".join(parts[:2])


def commands() -> tuple[Command[NoArgs], ...]:
    return (
        Command(
            name="ping",
            summary="Check that the bot is up; shows its version and uptime.",
            handler=ping,
            args=NoArgs,
            examples=("ping",),
        ),
    )
