"""``help``: the commands the asking user may run here, or one command's usage."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.context import Context
from bot.messages import Reply, Status, Table
from bot.router import Command, usage_fields


@dataclass(frozen=True, slots=True)
class HelpArgs:
    command: str | None = field(
        default=None, metadata={"help": "a command or a family to explain", "metavar": "COMMAND"}
    )
    sub: str | None = field(
        default=None,
        metadata={"help": "a command of that family (secrets audit)", "metavar": "SUBCOMMAND"},
    )


async def show_help(ctx: Context, args: HelpArgs) -> Reply:
    if args.command is None:
        return _overview(ctx)
    name = args.command if args.sub is None else f"{args.command} {args.sub}"
    command = ctx.catalog.find(name)
    if command is None and args.sub is None and ctx.catalog.is_family(args.command):
        return _family(ctx, args.command.strip().lower())
    if command is None:
        return Reply(
            title=f"No command named {name}",
            status=Status.ERROR,
            paragraphs=("Say `help` to see the commands you can run here.",),
        )
    paragraphs = [command.summary]
    if command.description:
        paragraphs.append(command.description)
    if command.aliases:
        paragraphs.append("Also: " + ", ".join(f"`{alias}`" for alias in command.aliases))
    paragraphs.append(f"Needs {command.level} access.")
    return Reply(
        title=f"help: {command.name}",
        paragraphs=tuple(paragraphs),
        fields=usage_fields(command),
    )


def _family(ctx: Context, word: str) -> Reply:
    allowed = ctx.catalog.family(word)
    if not allowed:
        return Reply(
            title=f"help: {word}",
            status=Status.ERROR,
            paragraphs=(
                f"Your access level here is {ctx.level}: no `{word}` command is open to it.",
            ),
        )
    rows = tuple((command.brief_usage, command.summary) for command in allowed)
    return Reply(
        title=f"help: {word}",
        paragraphs=(
            f"Say `help {word} COMMAND` for details, for example `help {allowed[0].name}`.",
        ),
        table=Table(headers=("command", "what it does"), rows=rows),
    )


def _overview(ctx: Context) -> Reply:
    allowed = ctx.catalog.allowed()
    rows = tuple((command.brief_usage, command.summary) for command in allowed)
    return Reply(
        title="Commands you can run here",
        paragraphs=(f"Your access level here is {ctx.level}. Say `help COMMAND` for details.",),
        table=Table(headers=("command", "what it does"), rows=rows),
    )


def commands() -> tuple[Command[HelpArgs], ...]:
    return (
        Command(
            name="help",
            summary="List the commands you can run here, or explain one.",
            handler=show_help,
            args=HelpArgs,
            examples=("help", "help status", "help secrets"),
        ),
    )
