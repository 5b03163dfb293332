"""A small third-party feature, as a plugin package would ship it: one read-level command.

A distribution declares it in the ``chatops_bridge.features`` entry-point group (the
tests write that metadata to a temporary directory on ``sys.path``)::

    [chatops_bridge.features]
    greetings = tests.example_plugin:FEATURE

``hello [NAME]`` greets NAME (or the asker) and says which bot answered; the greeting
word comes from the feature's construction, to show a dependency given at set-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.context import Context
from bot.features import FeatureHost, Provided
from bot.messages import Field, Reply, Status
from bot.router import Command


@dataclass(frozen=True, slots=True)
class HelloArgs:
    name: str | None = field(default=None, metadata={"help": "who to greet", "metavar": "NAME"})


@dataclass(frozen=True, slots=True)
class Greetings:
    """The plugin's feature: what it adds depends only on the host it is given."""

    word: str = "Hello"
    name: str = "greetings"
    section: str | None = None

    def setup(self, host: FeatureHost) -> Provided:
        bot_name = host.config.bot.name

        async def hello(ctx: Context, args: HelloArgs) -> Reply:
            who = args.name or ctx.actor.name
            return Reply(
                title=f"{self.word}, {who}!",
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
