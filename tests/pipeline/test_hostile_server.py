"""Slow clients against the real server: headers trickled in are cut off, honest ones served."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.app import create_app
from bot.config import Config, DatabaseSettings, ServerSettings
from bot.store.database import open_database
from bot.web import server_options

HEADER_TIMEOUT = 0.5
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow-client-test\r\n\r\n"


@pytest.fixture
async def served(sqlite_url: str) -> AsyncIterator[tuple[str, int]]:
    database = await open_database(sqlite_url, require_migrated=False)
    await database.migrate()
    await database.close()
    server = ServerSettings(header_timeout=HEADER_TIMEOUT)
    app = create_app(Config(database=DatabaseSettings(url=sqlite_url), server=server))
    runner = web.AppRunner(app, handle_signals=False, **server_options(server))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield host, port
    await runner.cleanup()


async def test_a_client_trickling_its_headers_is_disconnected_after_the_header_timeout(
    served: tuple[str, int],
) -> None:
    reader, writer = await asyncio.open_connection(*served)
    started = time.monotonic()
    closed_after: float | None = None
    try:
        # 10 bytes every 0.1 s: the request line and headers would take about 0.8 s
        for offset in range(0, len(REQUEST) - 2, 10):  # never the final CRLF
            writer.write(REQUEST[offset : offset + 10])
            await writer.drain()
            try:
                data = await asyncio.wait_for(reader.read(1024), timeout=0.1)
            except TimeoutError:
                continue
            assert data == b""
            closed_after = time.monotonic() - started
            break
        else:
            data = await asyncio.wait_for(reader.read(1024), timeout=HEADER_TIMEOUT * 4)
            assert data == b""
            closed_after = time.monotonic() - started
    finally:
        writer.close()
    assert closed_after is not None
    assert HEADER_TIMEOUT * 0.9 <= closed_after < HEADER_TIMEOUT * 4


async def test_a_client_sending_its_request_at_once_is_answered(served: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*served)
    try:
        writer.write(REQUEST)
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), timeout=5)
    finally:
        writer.close()
    assert status == b"HTTP/1.1 200 OK\r\n"
