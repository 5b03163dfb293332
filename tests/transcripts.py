"""One harness for transcript tests: say lines to the bot as a user, read what came back.

A ``Transcript`` says each line through a *door*, the way in the test drives:

- ``RouterDoor``: straight to the router, as an ``Invocation`` from a chat channel;
  what comes back is the router's ``Outcome`` (``transcript.reply`` takes its ``Reply``).
- ``ShellDoor``: through a ``chatops shell`` session, the whole pipeline; what comes
  back is the text the session printed for the line (``transcript.text`` joins lines).
- ``CommentDoor``: as a comment on the pull request thread of a forge test stack
  (``tests.github_stack``), delivered as a signed webhook that must be accepted; the
  answer is then read where users would see it (the thread), so nothing comes back.

Every line has a speaker (``user``, by default the transcript's) and a place (``channel``,
``platform``, ``thread``), which each door reads as far as its way in has them: a shell
session is one user in one channel; a comment is the user's, in the stack's thread. The
transcript's ``clock`` is the one the bot under test reads.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from aiohttp import ClientResponse

from bot.messages import Actor, Invocation, Platform, Reply, ReplyTarget, Target
from bot.router import Outcome, Router
from connectors.shell.inbound import ShellSession
from tests.fakes.clock import FakeClock

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True)
class Line:
    """One line said to the bot, by ``user``, in a place."""

    text: str
    user: str
    channel: str = "C1"
    platform: Platform = Platform.SLACK
    thread: Target | None = None


class Door(Protocol[T_co]):
    async def __call__(self, line: Line) -> T_co: ...


class Transcript(Generic[T]):
    def __init__(self, door: Door[T], clock: FakeClock, *, user: str) -> None:
        self.door = door
        self.clock = clock
        self.user = user

    async def say(
        self,
        text: str,
        *,
        user: str | None = None,
        channel: str = "C1",
        platform: Platform = Platform.SLACK,
        thread: Target | None = None,
    ) -> T:
        return await self.door(Line(text, user or self.user, channel, platform, thread))

    async def says(self, lines: Iterable[str], **where: Any) -> list[T]:
        """Each line in turn, as ``say`` would; what came back for each."""
        return [await self.say(line, **where) for line in lines]

    async def reply(self: Transcript[Outcome], text: str, **where: Any) -> Reply:
        """The reply the router gave the line (``RouterDoor``)."""
        return (await self.say(text, **where)).reply

    async def text(self: Transcript[str], lines: Iterable[str]) -> str:
        """Everything printed for the lines, in order (``ShellDoor``)."""
        return "".join(await self.says(lines))


class RouterDoor:
    """Dispatches each line to ``router`` as an invocation from the line's channel."""

    def __init__(self, router: Router, clock: FakeClock) -> None:
        self.router = router
        self.clock = clock

    async def __call__(self, line: Line) -> Outcome:
        return await self.router.dispatch(
            Invocation(
                id=uuid.uuid4().hex,
                platform=line.platform,
                actor=Actor(platform=line.platform, id=line.user, name=f"{line.user.lower()}-name"),
                text=line.text,
                reply_to=ReplyTarget(platform=line.platform, channel=line.channel, thread="t1"),
                delivery_key=uuid.uuid4().hex,
                received_at=self.clock.now(),
                target=line.thread,
            )
        )


class ShellDoor:
    """Runs each line in a shell session; returns what the session printed for it."""

    def __init__(self, session: ShellSession, output: io.StringIO) -> None:
        self.session = session
        self.output = output

    async def __call__(self, line: Line) -> str:
        start = len(self.output.getvalue())
        await self.session.run_line(line.text)
        return self.output.getvalue()[start:]


class ForgeStack(Protocol):
    """What ``CommentDoor`` needs of a forge test stack."""

    async def deliver(self, event: str, payload: dict[str, Any]) -> ClientResponse: ...

    def comment(self, body: str, *, login: str) -> dict[str, Any]: ...


class CommentDoor:
    """Posts each line as the user's comment in the stack's thread; GitHub must get a 202."""

    def __init__(self, stack: ForgeStack) -> None:
        self.stack = stack

    async def __call__(self, line: Line) -> None:
        response = await self.stack.deliver(
            "issue_comment", self.stack.comment(line.text, login=line.user)
        )
        assert response.status == 202, await response.text()
