"""Slack's wire formats, sans I/O: payloads in, ``Invocation``s out; API failures classified.

What it reads (bodies as Slack sends them, already verified by the caller):

- a slash command (``/chatops status acme/web#12``): one invocation, keyed
  ``slack:<team>:<trigger_id>``; its reply target carries the ``response_url``, when it
  expires, the asker and a one-line context for the reply's footer;
- an ``app_mention`` event: one invocation per line that starts with the bot's mention
  (``bot.parsing.find_commands``: code, quotes and comments are skipped), answered in the
  message's thread, started on the message itself when it is not in one;
- a direct message (``message`` with ``channel_type: im``): the whole text is one command.

Event invocations are keyed ``slack:<team>:<event_id>`` (``:<n>`` added for the n-th
command after the first), so Slack's retries of one event (``X-Slack-Retry-Num``) land on
the same inbox row while an event whose first attempt failed is still taken.

Invariants: no I/O, no clock (times are passed in); messages from bots (``bot_id``) and
message subtypes (edits, joins, bot messages) are never commands; a payload missing what
we need raises ``PayloadError``, whose message names the missing field.

Slack text is markup: ``plain_text`` unwraps links, mentions and channel references and
undoes Slack's ``&amp;``/``&lt;``/``&gt;`` escaping, so parsing sees what the user typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.messages import Actor, Invocation, Place, Platform, ReplyTarget, Target
from bot.parsing import ParseError, find_commands, looks_like_target, parse_target, split_args
from bot.pipeline.delivery import DeliveryError, RateLimited, Undeliverable

# Slack: a response_url takes up to 5 responses within 30 minutes; keep a margin.
RESPONSE_URL_LIFETIME = timedelta(minutes=29)
DEFAULT_RETRY_AFTER = 30.0

# ``ok: false`` errors that no retry can fix (Slack Web API method references).
PERMANENT_ERRORS = frozenset(
    {
        "account_inactive",
        "as_user_not_supported",
        "cannot_reply_to_message",
        "channel_not_found",
        "duplicate_channel_not_found",
        "ekm_access_denied",
        "enterprise_is_restricted",
        "invalid_arguments",
        "invalid_auth",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_form_data",
        "invalid_metadata_format",
        "is_archived",
        "message_limit_exceeded",
        "missing_scope",
        "msg_blocks_too_long",
        "msg_too_long",
        "no_permission",
        "no_text",
        "not_allowed_token_type",
        "not_authed",
        "not_in_channel",
        "org_login_required",
        "restricted_action",
        "restricted_action_non_threadable_channel",
        "restricted_action_read_only_channel",
        "restricted_action_thread_locked",
        "restricted_action_thread_only_channel",
        "team_access_not_granted",
        "token_expired",
        "token_revoked",
        "too_many_attachments",
        "user_not_in_channel",
    }
)

# ``ok: false`` errors after which a ``response_url`` may still reach the user.
NOT_REACHABLE_BY_BOT = frozenset({"channel_not_found", "not_in_channel", "user_not_in_channel"})

# hints in ``ReplyTarget.extra``
HINT_RESPONSE_URL = "response_url"
HINT_RESPONSE_URL_EXPIRES = "response_url_expires"
HINT_USER = "user"
HINT_VIA = "via"
HINT_CONTEXT = "context"
HINT_SUBJECT = "subject"
VIA_COMMAND = "command"

_MARKUP = re.compile(r"<([^<>]*)>")
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")


class PayloadError(ValueError):
    """A payload without something we need; the message names it."""


def plain_text(text: str) -> str:
    """What the user typed: Slack markup unwrapped, Slack's escaping undone.

    ``<https://x|label>`` becomes the URL, ``<@U1|name>`` ``@name`` (``@U1`` without a
    label), ``<#C1|general>`` ``#general``, ``<!here>`` ``@here``, ``<!subteam^S1|@ops>``
    ``@ops``.
    """

    def unwrap(match: re.Match[str]) -> str:
        target, _, label = match[1].partition("|")
        if target.startswith(("@", "#")):
            return target[0] + (label.lstrip("@#") or target[1:])
        if target.startswith("!"):
            return "@" + (label.lstrip("@") or target[1:].split("^")[0])
        return target

    unwrapped = _MARKUP.sub(unwrap, text)
    return unwrapped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def event_key(team_id: str, event_id: str, index: int = 0) -> str:
    suffix = f":{index + 1}" if index else ""
    return f"slack:{team_id}:{event_id}{suffix}"


def command_key(team_id: str, trigger_id: str) -> str:
    return f"slack:{team_id}:{trigger_id}"


def _text(payload: Mapping[str, Any], name: str, where: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise PayloadError(f"{where} has no {name}")
    return value


def _team(body: Mapping[str, Any], event: Mapping[str, Any] | None = None) -> str:
    for source in (body, event or {}):
        for name in ("team_id", "team", "enterprise_id"):
            value = source.get(name)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, Mapping) and isinstance(value.get("id"), str):
                return str(value["id"])
    raise PayloadError("the payload names no team")


def subject_of(command_text: str) -> str | None:
    """The first argument that looks like a forge target, if any."""
    try:
        words = split_args(command_text)
    except ParseError:
        return None
    return next((word for word in words if looks_like_target(word)), None)


def command_invocation(
    body: Mapping[str, Any], *, invocation_id: str, received_at: datetime
) -> Invocation:
    """The invocation of one slash command (form fields, decoded)."""
    where = "the slash command"
    user = _text(body, "user_id", where)
    channel = _text(body, "channel_id", where)
    trigger = _text(body, "trigger_id", where)
    command = _text(body, "command", where)
    response_url = _text(body, "response_url", where)
    text = plain_text(str(body.get("text") or "")).strip()
    name = str(body.get("user_name") or user)
    expires = received_at + RESPONSE_URL_LIFETIME
    extra = {
        HINT_RESPONSE_URL: response_url,
        HINT_RESPONSE_URL_EXPIRES: expires.isoformat(),
        HINT_USER: user,
        HINT_VIA: VIA_COMMAND,
        HINT_CONTEXT: f"{command} {text}".rstrip() + f" · asked by {name}",
    }
    subject = subject_of(text)
    if subject is not None:
        extra[HINT_SUBJECT] = subject
    return Invocation(
        id=invocation_id,
        platform=Platform.SLACK,
        actor=Actor(platform=Platform.SLACK, id=user, name=name),
        text=text,
        reply_to=ReplyTarget(
            platform=Platform.SLACK,
            channel=channel,
            extra=tuple(sorted(extra.items())),
            place=Place.CHANNEL,
        ),
        delivery_key=command_key(_team(body), trigger),
        received_at=received_at,
    )


def bot_user_id(body: Mapping[str, Any]) -> str | None:
    """The bot's own user id, from the event's ``authorizations`` (or legacy ``authed_users``)."""
    for authorization in body.get("authorizations") or ():
        if isinstance(authorization, Mapping) and authorization.get("is_bot"):
            user = authorization.get("user_id")
            if isinstance(user, str):
                return user
    authed = body.get("authed_users")
    if isinstance(authed, list) and len(authed) == 1 and isinstance(authed[0], str):
        return authed[0]
    return None


def is_from_a_person(event: Mapping[str, Any]) -> bool:
    """A new message typed by a user: not a bot's, not an edit, join or other subtype."""
    return not event.get("bot_id") and not event.get("subtype") and bool(event.get("user"))


def mention_commands(event: Mapping[str, Any], bot_user: str | None) -> list[str]:
    """The command lines of an ``app_mention``: lines starting with the bot's mention."""
    text = str(event.get("text") or "")
    if bot_user is not None:
        mentions = [f"<@{bot_user}>"]
    else:  # the event names no bot user: the mention that starts the text is ours
        first = _USER_MENTION.match(text.lstrip())
        mentions = [first[0]] if first else []
    return [plain_text(command).strip() for command in find_commands(text, mentions)]


def direct_command(event: Mapping[str, Any], bot_user: str | None) -> str:
    """The command of a direct message: its text, without a leading mention of the bot."""
    text = str(event.get("text") or "").strip()
    mention = _USER_MENTION.match(text)
    if mention is not None and (bot_user is None or mention[1] == bot_user):
        text = text[mention.end() :]
    return plain_text(text).strip()


def event_invocations(
    body: Mapping[str, Any],
    *,
    new_id: Callable[[], str],
    received_at: datetime,
    subject: str | None = None,
) -> list[Invocation]:
    """The invocations an ``app_mention`` or a direct ``message`` event carries (maybe none).

    ``subject`` is what the thread the event is in is about (see ``connectors.slack.threads``):
    it becomes the invocations' ``target``, and the reply keeps it as a hint.
    """
    event = body.get("event")
    if not isinstance(event, Mapping):
        raise PayloadError("the event callback has no event")
    if not is_from_a_person(event):
        return []
    kind = event.get("type")
    bot_user = bot_user_id(body)
    if kind == "app_mention":
        commands = mention_commands(event, bot_user)
        thread: str | None = str(event.get("thread_ts") or _text(event, "ts", "the event"))
    elif kind == "message" and event.get("channel_type") == "im":
        commands = [direct_command(event, bot_user)]
        thread = event.get("thread_ts")
    else:
        return []
    where = "the event"
    user = _text(event, "user", where)
    channel = _text(event, "channel", where)
    event_id = _text(body, "event_id", "the event callback")
    team = _team(body, event)
    extra = ((HINT_SUBJECT, subject),) if subject else ()
    reply_to = ReplyTarget(
        platform=Platform.SLACK,
        channel=channel,
        thread=thread,
        message=str(event.get("ts") or "") or None,
        extra=((HINT_USER, user), *extra),
        place=Place.CHANNEL,
    )
    actor = Actor(platform=Platform.SLACK, id=user, name=user)
    return [
        Invocation(
            id=new_id(),
            platform=Platform.SLACK,
            actor=actor,
            text=command,
            reply_to=reply_to,
            delivery_key=event_key(team, event_id, index),
            received_at=received_at,
            target=_target(subject),
        )
        for index, command in enumerate(commands)
    ]


def _target(subject: str | None) -> Target | None:
    if subject is None:
        return None
    try:
        return parse_target(subject)
    except ParseError:
        return None


def thread_of(body: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(channel, thread_ts)`` of an event posted inside a thread, else None."""
    event = body.get("event")
    if not isinstance(event, Mapping):
        return None
    channel, thread = event.get("channel"), event.get("thread_ts")
    if isinstance(channel, str) and isinstance(thread, str) and thread != event.get("ts"):
        return channel, thread
    return None


def delivery_error(
    method: str, status: int, error: str | None, headers: Mapping[str, str]
) -> DeliveryError:
    """The pipeline's view of a failed Web API call or ``response_url`` post: a rate limit
    is ``RateLimited`` (its attempt does not count towards the dead letters)."""
    if status == 429 or error == "ratelimited":
        return RateLimited(f"{method}: rate limited", _retry_after(headers))
    reason = f"{method}: {error or f'HTTP {status}'}"
    if error in PERMANENT_ERRORS:
        return Undeliverable(reason)
    return DeliveryError(reason)


def _retry_after(headers: Mapping[str, str]) -> float:
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                break
    return DEFAULT_RETRY_AFTER


def response_url_usable(hints: Sequence[tuple[str, str]], now: datetime) -> str | None:
    """The reply target's ``response_url`` if it has one that has not expired."""
    values = dict(hints)
    url, expires = values.get(HINT_RESPONSE_URL), values.get(HINT_RESPONSE_URL_EXPIRES)
    if not url or not expires:
        return None
    return url if now < datetime.fromisoformat(expires) else None
