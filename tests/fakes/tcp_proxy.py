"""A TCP proxy on 127.0.0.1 that cuts, stalls and slows a link while traffic flows.

Intent
    Stand between the bot and its database (or any TCP server) so that a test can break
    the link the way networks break: ``cut()`` closes every open connection at once and,
    until ``restore()``, refuses new ones (accepted, then reset) or, with
    ``cut(blackhole=True)``, accepts them and lets them hang; ``stall()`` stops
    forwarding bytes in both directions while every connection stays open (new ones are
    accepted and stall too); ``slow(ms)`` delays every chunk by ``ms`` milliseconds in
    each direction, so a request/response round trip costs ``2 * ms`` more; ``restore()``
    ends any of these. Bytes held back by a stall or a delay are delivered in order once
    the link flows again.

Invariants
    - Bytes are never dropped, reordered or duplicated on a connection that stays open:
      a fault only delays them, or closes the whole connection.
    - A cut leaves no connection open: those open at the cut are reset, and those accepted
      during it are reset by ``restore()`` at the latest (a black-holed client must
      reconnect, as after a real partition).
    - It listens on 127.0.0.1 port 0 and connects only to the upstream it was given.
    - No module state; ``close()`` (or leaving ``async with``) ends every task it started.

What it does not do: partial packets, bandwidth limits, or faults in one direction only.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

CHUNK = 64 * 1024
QUEUED_CHUNKS = 16  # per direction; past it the reader waits (TCP backpressure)
LOCALHOST = "127.0.0.1"


@dataclass(eq=False)
class _Link:
    """One client connection and its upstream connection, with the tasks that pump them."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    ended: int = 0  # directions that reached a clean end of stream

    def reset(self) -> None:
        _reset(self.client)
        if self.upstream is not None:
            _reset(self.upstream)
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()

    def close(self) -> None:
        self.client.close()
        if self.upstream is not None:
            self.upstream.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a broken link looks to the peer."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class TcpProxy:
    """``async with TcpProxy(port) as proxy:`` forwards ``127.0.0.1:proxy.port`` to upstream."""

    def __init__(self, upstream_port: int, upstream_host: str = LOCALHOST) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._cut = False
        self._blackhole = False
        self._delay = 0.0
        self.accepted = 0  # client connections accepted so far, faults included

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._accept, LOCALHOST, 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("TcpProxy is not serving; use it as `async with`")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def open_connections(self) -> int:
        return len(self._links)

    @property
    def state(self) -> str:
        """``"cut"``, ``"stalled"``, ``"slow"`` or ``"ok"``."""
        if self._cut:
            return "cut"
        if not self._flowing.is_set():
            return "stalled"
        return "slow" if self._delay else "ok"

    def cut(self, *, blackhole: bool = False) -> None:
        """Reset every open connection; refuse (or black-hole) new ones until ``restore``."""
        self._cut = True
        self._blackhole = blackhole
        self._reset_all()

    def stall(self) -> None:
        """Stop forwarding bytes; every connection stays open."""
        self._flowing.clear()

    def slow(self, milliseconds: float) -> None:
        """Delay every chunk by ``milliseconds`` in each direction (0 removes the delay)."""
        self._delay = milliseconds / 1000

    def restore(self) -> None:
        """A healthy link again: no cut, no stall, no delay."""
        if self._cut:
            self._reset_all()  # black-holed connections never reached the upstream
        self._cut = False
        self._blackhole = False
        self._delay = 0.0
        self._flowing.set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._reset_all()
            await self._server.wait_closed()
            self._server = None
        self._flowing.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _reset_all(self) -> None:
        for link in list(self._links):
            link.reset()
        self._links.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self._cut and not self._blackhole:
            _reset(writer)
            return
        link = _Link(client=writer)
        self._links.add(link)
        if self._cut:
            return  # black hole: held open, never forwarded, reset at restore
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            self._links.discard(link)
            _reset(writer)
            return
        if link not in self._links:  # cut while connecting
            _reset(up_writer)
            return
        link.upstream = up_writer
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(link, source, sink))
            link.tasks.add(task)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(
        self, link: _Link, source: asyncio.StreamReader, sink: asyncio.StreamWriter
    ) -> None:
        """Copy one direction: each chunk waits out its delay and any stall, in order.

        A clean end of stream is passed on (half-close); the link closes when both
        directions have ended. An error on either side resets the whole link.
        """
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(maxsize=QUEUED_CHUNKS)
        deliver = asyncio.create_task(self._deliver(queue, sink))
        loop = asyncio.get_running_loop()
        try:
            while chunk := await source.read(CHUNK):
                await queue.put((loop.time() + self._delay, chunk))
            await queue.put((loop.time() + self._delay, b""))
            await deliver
        except OSError:
            self._drop(link, reset=True)
            return
        finally:
            deliver.cancel()
        link.ended += 1
        if link.ended == 2:
            self._drop(link, reset=False)

    def _drop(self, link: _Link, *, reset: bool) -> None:
        if link in self._links:
            self._links.discard(link)
            if reset:
                link.reset()
            else:
                link.close()

    async def _deliver(
        self, queue: asyncio.Queue[tuple[float, bytes]], sink: asyncio.StreamWriter
    ) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, chunk = await queue.get()
            await asyncio.sleep(max(0.0, due - loop.time()))
            await self._flowing.wait()
            if not chunk:
                if sink.can_write_eof():
                    sink.write_eof()
                return
            sink.write(chunk)
            await sink.drain()
