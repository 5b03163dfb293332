"""``GitHubConnector``, the sending half: replies as comments, acknowledgements as 👀.

A reply goes to the thread it answers (``ReplyTarget.channel`` = ``owner/repo``,
``thread`` = the issue or PR number): as a reply in the review thread for a review
comment, else as an issue comment (``render``). It quotes the command line it answers and
ends with a hidden marker naming its outbox key. Long-lived comments (a target with a
``sticky`` hint, such as the per-PR summary) carry a marker naming that role instead and
are edited in place whenever they exist.

Invariants:
- On a retry (``attempt`` > 1) of a thread comment, the bot first looks for its own
  comment with the marker, so an attempt interrupted after GitHub accepted it is not
  posted twice. Only comments by the bot's own account count, so a marker pasted by
  someone else is never edited.
- Every failure leaves as a ``DeliveryError`` (see ``connectors.github.errors``).
"""

from __future__ import annotations

from typing import Any

from bot.clock import Clock
from bot.messages import Outgoing, OutgoingKind, Platform, ReplyTarget
from bot.pipeline.delivery import DeliveryError
from connectors.github.api import GitHubClient
from connectors.github.errors import delivery_error
from connectors.github.render import render_comment

ACKNOWLEDGEMENT_REACTION = "eyes"


class GitHubConnector:
    def __init__(self, client: GitHubClient, clock: Clock, own_logins: frozenset[str]) -> None:
        self._client = client
        self._clock = clock
        self._own_logins = own_logins

    @property
    def platform(self) -> Platform:
        return Platform.GITHUB

    async def send(self, message: Outgoing) -> None:
        try:
            if message.kind is OutgoingKind.ACKNOWLEDGEMENT:
                await self._acknowledge(message.target)
            else:
                await self._post(message)
        except DeliveryError:
            raise
        except Exception as exc:
            raise delivery_error(exc, self._clock.now().timestamp()) from exc

    async def _acknowledge(self, target: ReplyTarget) -> None:
        if target.message is None:
            return
        await self._client.react(
            target.channel,
            target.hint("comment_kind") or "issue",
            int(target.message),
            ACKNOWLEDGEMENT_REACTION,
            _installation(target),
        )

    async def _post(self, message: Outgoing) -> None:
        target = message.target
        if target.thread is None:
            raise DeliveryError(f"no thread to reply in for {message.key}")
        repo, number, installation = target.channel, int(target.thread), _installation(target)
        comment = render_comment(message)
        body = comment.body
        review_comment = target.hint("comment_kind") == "review" and target.message is not None
        if review_comment and not comment.sticky:
            assert target.message is not None
            await self._client.reply_to_review_comment(
                repo, number, int(target.message), body, installation
            )
            return
        if comment.sticky or message.attempt > 1:
            existing = await self._find_own(repo, number, comment.marker, installation)
            if existing is not None:
                if existing.get("body") != body:
                    await self._client.update_comment(repo, int(existing["id"]), body, installation)
                return
        await self._client.create_comment(repo, number, body, installation)

    async def _find_own(
        self, repo: str, number: int, marker: str, installation: int | None
    ) -> dict[str, Any] | None:
        async for comment in self._client.comments(repo, number, installation):
            author = str((comment.get("user") or {}).get("login", "")).lower()
            if author in self._own_logins and marker in (comment.get("body") or ""):
                return comment
        return None


def _installation(target: ReplyTarget) -> int | None:
    hint = target.hint("installation")
    return int(hint) if hint else None
