"""Discord's wire formats, sans I/O: signed interaction requests, and events into Invocations.

- ``verify_signature`` checks an HTTP interaction: Ed25519 over ``timestamp + raw body``
  with the application's public key (headers ``X-Signature-Ed25519`` and
  ``X-Signature-Timestamp``; developer docs, interactions/overview). Discord names no
  freshness window; we refuse timestamps more than ``max_age`` seconds away from now.
- ``decode_interaction`` turns an application-command interaction (from the gateway's
  INTERACTION_CREATE or the HTTP endpoint: the same object) into an ``Invocation`` keyed
  ``discord:interaction:<id>``.
- ``decode_mentions`` turns a MESSAGE_CREATE that mentions the bot into one ``Invocation``
  per command line, keyed ``discord:message:<id>`` (``:<n>`` for the n-th further line).

Deliberately not here: network calls, the database, the clock (times are passed in).

Invariants: a decoder never raises for a well-formed event it does not handle (it returns
None or nothing); messages from bots and webhooks are never read as commands; the actor's
groups are the member's role ids, which ``[[permissions.grants]]`` grant by.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from bot.messages import Actor, Invocation, Place, Platform, ReplyTarget
from bot.parsing import find_commands
from connectors.discord.definitions import SlashCommands

# hints a ReplyTarget carries for the sender (``ReplyTarget.extra``)
TOKEN_HINT = "interaction_token"
RECEIVED_HINT = "interaction_received_at"


class InteractionType(enum.IntEnum):
    PING = 1
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    AUTOCOMPLETE = 4
    MODAL_SUBMIT = 5


class CallbackType(enum.IntEnum):
    PONG = 1
    CHANNEL_MESSAGE_WITH_SOURCE = 4
    DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5


EPHEMERAL = 1 << 6


class BadSignature(Exception):
    """An HTTP interaction whose signature does not verify; answer 401 and do nothing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify_signature(
    public_key: str,
    *,
    signature: str | None,
    timestamp: str | None,
    body: bytes,
    now: float,
    max_age: float,
) -> None:
    """Return if ``body`` was signed by Discord at ``timestamp``; raise ``BadSignature``."""
    if not signature or not timestamp:
        raise BadSignature("missing X-Signature-Ed25519 or X-Signature-Timestamp")
    try:
        sent_at = int(timestamp)
        raw_signature = bytes.fromhex(signature)
        VerifyKey(bytes.fromhex(public_key)).verify(timestamp.encode() + body, raw_signature)
    except (ValueError, BadSignatureError):
        raise BadSignature("the signature does not verify") from None
    if abs(now - sent_at) > max_age:
        raise BadSignature(f"the timestamp is more than {max_age:g}s from now")


@dataclass(frozen=True, slots=True)
class InteractionReceipt:
    """An application-command interaction we will run, and how to acknowledge it."""

    invocation: Invocation
    interaction_id: str
    token: str


def decode_interaction(
    payload: Mapping[str, Any], slash: SlashCommands, received_at: datetime
) -> InteractionReceipt | None:
    """The invocation an interaction asks for, or None when it is not our slash command.

    An option the command does not know raises ``definitions.OptionError`` (the
    registered definition is out of date); the caller answers it with an error.
    """
    if payload.get("type") != InteractionType.APPLICATION_COMMAND:
        return None
    text = slash.text_for(payload.get("data") or {})
    if text is None:
        return None
    interaction_id = str(payload["id"])
    token = str(payload["token"])
    member = payload.get("member") or {}
    user = member.get("user") or payload.get("user") or {}
    reply_to = ReplyTarget(
        platform=Platform.DISCORD,
        channel=str(payload.get("channel_id") or (payload.get("channel") or {}).get("id")),
        extra=((RECEIVED_HINT, received_at.isoformat()), (TOKEN_HINT, token)),
        place=Place.CHANNEL,
    )
    invocation = Invocation(
        id=uuid.uuid4().hex,
        platform=Platform.DISCORD,
        actor=_actor(user, member),
        text=text,
        reply_to=reply_to,
        delivery_key=f"discord:interaction:{interaction_id}",
        received_at=received_at,
    )
    return InteractionReceipt(invocation=invocation, interaction_id=interaction_id, token=token)


def decode_mentions(
    payload: Mapping[str, Any], bot_user_id: str, received_at: datetime
) -> list[Invocation]:
    """One invocation per line of a message that starts with a mention of the bot."""
    author = payload.get("author") or {}
    if author.get("bot") or payload.get("webhook_id") or str(author.get("id")) == bot_user_id:
        return []
    mentioned = {str(user.get("id")) for user in payload.get("mentions") or []}
    if bot_user_id not in mentioned:
        return []
    lines = find_commands(
        str(payload.get("content") or ""), [f"<@{bot_user_id}>", f"<@!{bot_user_id}>"]
    )
    message_id = str(payload["id"])
    reply_to = ReplyTarget(
        platform=Platform.DISCORD,
        channel=str(payload["channel_id"]),
        message=message_id,
        place=Place.CHANNEL,
    )
    actor = _actor(author, payload.get("member") or {})
    return [
        Invocation(
            id=uuid.uuid4().hex,
            platform=Platform.DISCORD,
            actor=actor,
            text=line,
            reply_to=reply_to,
            delivery_key=f"discord:message:{message_id}" + (f":{index}" if index else ""),
            received_at=received_at,
        )
        for index, line in enumerate(lines)
    ]


def _actor(user: Mapping[str, Any], member: Mapping[str, Any]) -> Actor:
    name = member.get("nick") or user.get("global_name") or user.get("username") or "someone"
    return Actor(
        platform=Platform.DISCORD,
        id=str(user.get("id")),
        name=str(name),
        groups=tuple(str(role) for role in member.get("roles") or ()),
    )
