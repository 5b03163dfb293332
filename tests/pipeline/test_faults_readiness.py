"""``/readyz`` tells the truth, fast, while the database link is broken.

With the link to PostgreSQL cut (refused or black-holed) or stalled, every probe is
answered within one second, with 503; once the link is restored, probes answer 200
again within a bounded time, without a restart. ``/healthz`` (liveness) stays 200
throughout, so an orchestrator does not kill a process that only waits for its
database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from tests.fakes.tcp_proxy import TcpProxy
from tests.fault_stream import READY_DEADLINE, Stack, fault_stack

PROBES = 5  # probes while the link is broken, one every PROBE_EVERY seconds
PROBE_EVERY = 0.4
BACK_WITHIN = 10.0  # seconds after restore for /readyz to say 200 again

FAULTS: dict[str, Callable[[TcpProxy], None]] = {
    "cut": lambda proxy: proxy.cut(),
    "black-holed": lambda proxy: proxy.cut(blackhole=True),
    "stalled": lambda proxy: proxy.stall(),
}


async def _healthz(stack: Stack) -> int:
    async with stack.client.get("/healthz") as response:
        return response.status


async def _ready_again(stack: Stack) -> list[int]:
    """Probe until one says 200 or ``BACK_WITHIN`` passes; every status seen, in order."""
    seen: list[int] = []
    deadline = time.monotonic() + BACK_WITHIN
    while time.monotonic() < deadline:
        seen.append((await stack.readyz()).status)
        if seen[-1] == 200:
            break
        await asyncio.sleep(0.2)
    return seen


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_readyz_answers_503_within_a_second_while_the_database_is_unreachable(
    postgres_url: str, fault: str
) -> None:
    async with fault_stack(postgres_url) as stack:
        assert (await stack.readyz()).status == 200

        FAULTS[fault](stack.proxy)
        probes = []
        for _ in range(PROBES):
            probes.append(await stack.readyz())
            await asyncio.sleep(PROBE_EVERY)
        health = await _healthz(stack)
        stack.proxy.restore()
        after = await _ready_again(stack)

        # status 0: no answer within READY_DEADLINE
        assert [(p.status, p.seconds < READY_DEADLINE) for p in probes] == [(503, True)] * PROBES
        assert health == 200
        assert after[-1:] == [200]
