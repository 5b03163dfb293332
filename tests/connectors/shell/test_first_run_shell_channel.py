"""The shell user's channel is the same in every session: ``use`` and ``subscribe`` persist."""

from __future__ import annotations

import io

from bot.store.database import Database
from tests.channels.test_subscribe_shell import shell
from tests.fakes.clock import FakeClock, utc_minute


async def test_a_later_session_sees_and_removes_what_an_earlier_one_set(
    database: Database,
) -> None:
    clock = FakeClock()
    first_out, second_out = io.StringIO(), io.StringIO()
    first = shell(database, first_out, clock, user="operator")
    await first.run_line("use acme/web")
    subscribed_at = clock.now()
    await first.run_line("subscribe acme/api")

    second = shell(database, second_out, clock, user="operator")
    await second.run_line("subscriptions")
    await second.run_line("unsubscribe acme/api")
    await second.run_line("use --clear")

    assert second_out.getvalue() == (
        "This channel's subscriptions\n"
        "repo      topics  since                 by\n"
        f"acme/api  all     {utc_minute(subscribed_at)}  operator\n"
        "\n"
        "Unsubscribed from acme/api\n"
        "This channel no longer gets run results or alerts for acme/api.\n"
        "\n"
        "Default repository cleared\n"
        "This channel no longer has a default repository (it was acme/web): name the "
        "repository, as in `status acme/web#12`, instead of `status #12`.\n"
    )
