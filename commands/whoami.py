"""``whoami``: who the bot takes you for, and what you may do where you asked.

The answer names the account the command came from (as the platform gave it), the
permission level the bot found for it on the repository in view (the ``TARGET``, else
the thread's, else the channel's default) and the commands that level allows. It reads
only the handler's context: the level is the one the router already asked the
authorizer for, so the answer is exactly what the next command will be checked against.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.context import Context
from bot.messages import Field, Reply, Status, Target
from bot.router import Command


@dataclass(frozen=True, slots=True)
class WhoamiArgs:
    target: Target | None = field(
        default=None,
        metadata={
            "help": "the repository to check your level on (owner/repo)",
            "metavar": "TARGET",
        },
    )


async def whoami(ctx: Context, _args: WhoamiArgs) -> Reply:
    actor = ctx.actor
    where = f"on {ctx.target.repo}" if ctx.target is not None and ctx.target.repo else "here"
    allowed = sorted(command.name for command in ctx.catalog.allowed())
    return Reply(
        title=f"You are {actor.name}",
        status=Status.INFO,
        fields=(
            Field("account", f"{actor.platform.value}:{actor.id}"),
            Field("level", f"{ctx.level} {where}"),
            Field("may run", ", ".join(allowed)),
        ),
    )


def commands() -> tuple[Command[WhoamiArgs], ...]:
    return (
        Command(
            name="whoami",
            summary="Show who the bot takes you for and your permission level here.",
            handler=whoami,
            args=WhoamiArgs,
            examples=("whoami", "whoami acme/web"),
            description=(
                "Names your account as the platform gave it, the level the bot found for "
                "you on the repository in view (the one given, else the pull request's, "
                "else the channel's default), and the commands that level allows."
            ),
        ),
    )
