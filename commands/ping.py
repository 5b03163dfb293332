"""``ping``: is the bot alive, which version, and for how long."""

from __future__ import annotations

from bot.arguments import NoArgs
from bot.context import Context
from bot.durations import format_duration as format_duration
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
