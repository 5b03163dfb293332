"""The fault-injecting TCP proxy, against a tiny echo server on 127.0.0.1.

Each fault is checked for what a client sees: a cut resets open connections and
refuses (or black-holes) new ones, a stall holds bytes without closing anything, a
slow link delays every round trip, and ``restore`` brings back a working link with
nothing lost or reordered.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from tests.fakes.tcp_proxy import TcpProxy

QUIET = 0.3  # how long "nothing arrives" is watched for
BOUND = 5.0  # how long anything that must happen may take


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.write_eof()
    writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with TcpProxy(port) as running:
            yield running
    finally:
        server.close()
        await server.wait_closed()


async def _connect(proxy: TcpProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", proxy.port), BOUND)


async def _round_trip(proxy: TcpProxy, data: bytes) -> bytes:
    reader, writer = await _connect(proxy)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.readexactly(len(data)), BOUND)
    finally:
        writer.close()


async def _closed_by_peer(reader: asyncio.StreamReader) -> bool:
    """True when the connection ends (EOF or reset) within the bound."""
    try:
        data = await asyncio.wait_for(reader.read(1), BOUND)
    except ConnectionError:
        return True
    return data == b""


async def _silent(reader: asyncio.StreamReader) -> bool:
    """True when nothing at all (no byte, no EOF, no reset) arrives for ``QUIET`` seconds."""
    try:
        await asyncio.wait_for(reader.read(1), QUIET)
    except TimeoutError:
        return True
    except ConnectionError:
        return False
    return False


async def test_bytes_pass_both_ways_whole_and_in_order_with_half_close(proxy: TcpProxy) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB, so it crosses many chunks
    reader, writer = await _connect(proxy)
    writer.write(payload)
    writer.write_eof()
    echoed = await asyncio.wait_for(reader.read(), BOUND)
    writer.close()

    assert echoed == payload
    assert proxy.state == "ok"


async def test_a_cut_resets_open_connections_and_refuses_new_ones_until_restored(
    proxy: TcpProxy,
) -> None:
    reader, writer = await _connect(proxy)
    assert await _round_trip(proxy, b"before") == b"before"

    proxy.cut()

    assert await _closed_by_peer(reader)
    writer.close()
    assert proxy.open_connections == 0
    refused_reader, refused_writer = await _connect(proxy)
    refused_writer.write(b"during")
    assert await _closed_by_peer(refused_reader)
    refused_writer.close()
    assert proxy.state == "cut"

    proxy.restore()

    assert await _round_trip(proxy, b"after") == b"after"


async def test_a_black_holed_cut_holds_new_connections_silent_and_restore_resets_them(
    proxy: TcpProxy,
) -> None:
    proxy.cut(blackhole=True)
    reader, writer = await _connect(proxy)
    writer.write(b"into the void")

    assert await _silent(reader)
    assert proxy.open_connections == 1

    proxy.restore()

    assert await _closed_by_peer(reader)
    writer.close()
    assert await _round_trip(proxy, b"after") == b"after"


async def test_a_stall_holds_bytes_on_open_connections_and_restore_delivers_them(
    proxy: TcpProxy,
) -> None:
    reader, writer = await _connect(proxy)
    proxy.stall()
    writer.write(b"first ")
    writer.write(b"second")
    late_reader, late_writer = await _connect(proxy)
    late_writer.write(b"late")

    assert await _silent(reader)
    assert await _silent(late_reader)
    assert proxy.open_connections == 2
    assert proxy.state == "stalled"

    proxy.restore()

    assert await asyncio.wait_for(reader.readexactly(12), BOUND) == b"first second"
    assert await asyncio.wait_for(late_reader.readexactly(4), BOUND) == b"late"
    writer.close()
    late_writer.close()


async def test_a_slow_link_delays_each_direction_and_restore_removes_the_delay(
    proxy: TcpProxy,
) -> None:
    reader, writer = await _connect(proxy)
    loop = asyncio.get_running_loop()
    proxy.slow(150)
    assert proxy.state == "slow"

    started = loop.time()
    writer.write(b"ping")
    assert await asyncio.wait_for(reader.readexactly(4), BOUND) == b"ping"
    slow_round_trip = loop.time() - started

    assert slow_round_trip >= 0.3  # 150 ms out and 150 ms back, at the least
    proxy.restore()
    assert proxy.state == "ok"
    writer.write(b"pong")
    assert await asyncio.wait_for(reader.readexactly(4), BOUND) == b"pong"
    writer.close()


async def test_close_resets_every_connection() -> None:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    try:
        proxy = TcpProxy(server.sockets[0].getsockname()[1])
        async with proxy:
            reader, writer = await _connect(proxy)
            assert await _round_trip(proxy, b"x") == b"x"
        assert await _closed_by_peer(reader)
        writer.close()
        assert proxy.open_connections == 0
    finally:
        server.close()
        await server.wait_closed()
