"""Any Unicode a platform can send reaches both databases: property tests over the inbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.messages import Actor, Invocation, Platform, ReplyTarget, Target
from bot.storable import REPLACEMENT, is_storable, storable, storable_invocation
from bot.store.database import Database
from bot.store.models import InboxItem
from bot.store.queues import InboxQueue

# every code point, surrogates and NUL included: what json.loads can hand a decoder
ANY_TEXT = st.text(alphabet=st.characters(codec=None, min_codepoint=0), max_size=200)
AT = datetime(2026, 1, 1, tzinfo=UTC)


def invocation(text: str, name: str, quote: str) -> Invocation:
    return Invocation(
        id=uuid.uuid4().hex,
        platform=Platform.GITHUB,
        actor=Actor(platform=Platform.GITHUB, id=name, name=name),
        text=text,
        reply_to=ReplyTarget(
            platform=Platform.GITHUB, channel="acme/web", thread="1", extra=(("quote", quote),)
        ),
        delivery_key=f"github:issue_comment:{uuid.uuid4().int % 10**12}:0",
        received_at=AT,
        target=Target(repo="acme/web"),
    )


@given(text=ANY_TEXT)
def test_storable_text_is_utf8_without_nul_and_unchanged_when_already_storable(text: str) -> None:
    cleaned = storable(text)

    assert "\x00" not in cleaned
    cleaned.encode("utf-8")  # raises on a lone surrogate
    assert is_storable(cleaned)
    assert len(cleaned) == len(text)
    assert all(
        kept == original or (kept == REPLACEMENT and not is_storable(original))
        for kept, original in zip(cleaned, text, strict=True)
    )
    if is_storable(text):
        assert cleaned == text


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=ANY_TEXT, name=ANY_TEXT, quote=ANY_TEXT)
async def test_arbitrary_unicode_commands_are_written_and_read_back_on_every_database(
    database: Database, text: str, name: str, quote: str
) -> None:
    stored = storable_invocation(invocation(text, name, quote))

    accepted = await InboxQueue(database).submit(stored, AT)

    assert accepted
    row = await InboxItem.get(delivery_key=stored.delivery_key)
    assert Invocation.from_dict(row.invocation) == stored
    assert stored.text == storable(text)
    assert stored.actor.name == storable(name)
    assert stored.reply_to.hint("quote") == storable(quote)
