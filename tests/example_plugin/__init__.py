"""A small third-party feature, as a plugin package would ship it: one read-level command
and a settings section of its own.

A distribution declares it in the ``chatops_bridge.features`` entry-point group (the
tests write that metadata to a temporary directory on ``sys.path``)::

    [chatops_bridge.features]
    greetings = tests.example_plugin:FEATURE

``hello [NAME]`` greets NAME (or the asker) and says which bot answered. The greeting
word is the plugin's one setting, ``[greetings] greeting`` (default "Hello"): the feature
names its section and the settings dataclass it is read into (``schema``), and ``setup``
reads the loaded value with ``host.settings_for(self)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config import Section, checks, non_empty
from bot.context import Context
from bot.features import FeatureHost, Provided
from bot.messages import Field, Reply, Status
from bot.router import Command


def _one_line(value: str) -> str | None:
    """A check of the plugin's own: the reason the value is invalid, or None."""
    return "must be one line" if "\n" in value else None


@dataclass(frozen=True, slots=True)
class GreetingsSettings(Section):
    """``[greetings]``: the word ``hello`` greets with."""

    greeting: str = field(default="Hello", metadata=checks(non_empty, _one_line))


@dataclass(frozen=True, slots=True)
class HelloArgs:
    name: str | None = field(default=None, metadata={"help": "who to greet", "metavar": "NAME"})


@dataclass(frozen=True, slots=True)
class Greetings:
    """The plugin's feature: what it adds depends only on the host it is given."""

    name: str = "greetings"
    section: str | None = "greetings"
    schema: type[GreetingsSettings] = GreetingsSettings

    def setup(self, host: FeatureHost) -> Provided:
        bot_name = host.config.bot.name
        greeting = host.settings_for(self).greeting

        async def hello(ctx: Context, args: HelloArgs) -> Reply:
            who = args.name or ctx.actor.name
            return Reply(
                title=f"{greeting}, {who}!",
                status=Status.OK,
                fields=(Field("from", bot_name),),
            )

        command = Command(
            name="hello",
            summary="Say hello (an example plugin's command).",
            handler=hello,
            args=HelloArgs,
            examples=("hello", "hello ops"),
        )
        return Provided(commands=(command,))


FEATURE = Greetings()
NOT_A_FEATURE = object()
