"""``GitLabConnector``, the sending half: replies as notes, acknowledgements as 👀.

A reply goes to the merge request or issue it answers (``ReplyTarget.channel`` = the
project's ``path_with_namespace``, ``thread`` = ``merge_requests/<iid>`` or
``issues/<iid>``) as a new note (``render``). It quotes the command line it answers and
ends with a hidden marker naming its outbox key. A sticky note (a target with a ``sticky``
hint) carries a marker naming that role instead and is edited in place whenever it exists:
one per merge request or issue and name. The acknowledgement is the ``eyes`` award emoji
on the command's note (``ReplyTarget.message``).

Invariants:
- On a retry (``attempt`` > 1) of a note, the bot first looks for its own note with the
  marker, so an attempt interrupted after GitLab accepted it is not posted twice; likewise
  a retried acknowledgement first looks for its own award. Only notes and awards by the
  bot's own users count, so a marker pasted by someone else is never edited.
- An award GitLab says the bot has already given counts as given.
- Every failure leaves as a ``DeliveryError`` (``connectors.gitlab.errors.delivery_error``:
  ``Retry-After``/``RateLimit-Reset`` → ``RetryLater``, 5xx and network errors retried,
  other 4xx dead-lettered).
"""

from __future__ import annotations

import re
from typing import Any

from gidgetlab.exceptions import HTTPException

from bot.clock import Clock
from bot.messages import Outgoing, OutgoingKind, Platform, ReplyTarget
from bot.pipeline.delivery import DeliveryError, Undeliverable
from connectors.gitlab.api import GitLabApi, failed_response_headers, project_ref
from connectors.gitlab.errors import delivery_error
from connectors.gitlab.render import render_note

ACKNOWLEDGEMENT_EMOJI = "eyes"
_THREAD = re.compile(r"^(merge_requests|issues)/[1-9][0-9]*$")
_ALREADY_AWARDED = "has already been taken"


class GitLabConnector:
    def __init__(self, api: GitLabApi, clock: Clock, own_usernames: frozenset[str]) -> None:
        self._api = api
        self._clock = clock
        self._own = frozenset(name.lower() for name in own_usernames)

    @property
    def platform(self) -> Platform:
        return Platform.GITLAB

    async def send(self, message: Outgoing) -> None:
        try:
            if message.kind is OutgoingKind.ACKNOWLEDGEMENT:
                await self._acknowledge(message.target, message.attempt)
            else:
                await self._post(message)
        except DeliveryError:
            raise
        except Exception as exc:
            now = self._clock.now().timestamp()
            raise delivery_error(exc, now, failed_response_headers(exc)) from exc

    async def _acknowledge(self, target: ReplyTarget, attempt: int) -> None:
        if target.message is None:
            return
        url = f"{_thread_url(target)}/notes/{int(target.message)}/award_emoji"
        if attempt > 1 and await self._awarded(url):
            return
        try:
            await self._api.post(url, data={"name": ACKNOWLEDGEMENT_EMOJI})
        except HTTPException as exc:
            if int(exc.status_code) == 404 and _ALREADY_AWARDED in str(exc):
                return
            raise

    async def _awarded(self, url: str) -> bool:
        async for award in self._api.getiter(url, {"per_page": "100"}):
            if award.get("name") == ACKNOWLEDGEMENT_EMOJI and self._by_bot(award.get("user")):
                return True
        return False

    async def _post(self, message: Outgoing) -> None:
        target = message.target
        notes = f"{_thread_url(target)}/notes"
        note = render_note(message)
        body = note.body
        if note.sticky or message.attempt > 1:
            existing = await self._find_own(notes, note.marker)
            if existing is not None:
                if existing.get("body") != body:
                    await self._api.put(f"{notes}/{int(existing['id'])}", data={"body": body})
                return
        await self._api.post(notes, data={"body": body})

    async def _find_own(self, notes: str, marker: str) -> dict[str, Any] | None:
        params: dict[str, str | bool] = {"sort": "asc", "order_by": "created_at", "per_page": "100"}
        async for note in self._api.getiter(notes, params):
            if self._by_bot(note.get("author")) and marker in (note.get("body") or ""):
                found: dict[str, Any] = note
                return found
        return None

    def _by_bot(self, user: Any) -> bool:
        return isinstance(user, dict) and str(user.get("username", "")).lower() in self._own


def _thread_url(target: ReplyTarget) -> str:
    """``/projects/<encoded path>/<merge_requests|issues>/<iid>``; a target that names no
    such thread can never be delivered."""
    if target.thread is None or not _THREAD.match(target.thread):
        raise Undeliverable(f"not a GitLab merge request or issue thread: {target.thread!r}")
    return f"/projects/{project_ref(target.channel)}/{target.thread}"
