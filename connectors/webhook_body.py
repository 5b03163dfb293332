"""Reading a signed request body: capped, timed, hashed while it streams, and few at once.

Intent
    An unauthenticated sender decides how large a body is and how slowly it arrives. The
    front doors therefore read bodies only through here:

    - ``read_body`` streams the body in chunks, feeding each chunk to the caller's HMACs as
      it arrives (so the signature is ready the moment the last byte is), stops with
      ``BodyTooLarge`` as soon as the running size passes the cap (a ``Content-Length``
      over the cap is refused before reading anything), and with ``BodyTimeout`` when the
      whole body has not arrived within the read timeout;
    - ``UnverifiedBodies`` bounds how many bodies whose signature is not yet known are
      being read at once; a request that finds every slot busy for ``wait`` seconds gets
      ``Busy`` (the front door answers 503), so a flood of badly signed 25 MB bodies holds
      at most ``limit`` of them in memory.

    Callers refuse a request whose headers already say it cannot be authentic (no
    signature, a duplicated one) before calling anything here.

Invariants
    - At most ``max_bytes`` bytes are ever held for one request.
    - A body is returned only whole; on any error nothing is returned and the chunks read
      so far are dropped.
    - No logging, no responses: the callers decide what each error means on their door.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

READ_CHUNK = 64 * 1024


class BodyError(Exception):
    """The body could not be read as a whole, within the limits."""


class BodyTooLarge(BodyError):
    """The body is (or says it is) larger than the cap."""


class BodyTimeout(BodyError):
    """The body did not arrive within the read timeout."""


class Busy(Exception):
    """Every slot for unverified bodies stayed taken; try again later."""


@dataclass(frozen=True, slots=True)
class BodyLimits:
    max_bytes: int
    read_timeout: float  # seconds for the whole body, from the first read


async def read_body(
    request: web.Request, limits: BodyLimits, macs: Sequence[hmac.HMAC] = ()
) -> bytes:
    """The whole body of ``request``, each chunk also fed to every HMAC in ``macs``."""
    if (request.content_length or 0) > limits.max_bytes:
        raise BodyTooLarge(f"Content-Length {request.content_length} > {limits.max_bytes}")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(limits.read_timeout):
            while chunk := await request.content.read(READ_CHUNK):
                size += len(chunk)
                if size > limits.max_bytes:
                    raise BodyTooLarge(f"more than {limits.max_bytes} bytes")
                for mac in macs:
                    mac.update(chunk)
                chunks.append(chunk)
    except TimeoutError:
        raise BodyTimeout(f"not read within {limits.read_timeout:g}s") from None
    return b"".join(chunks)


class UnverifiedBodies:
    """At most ``limit`` bodies of not yet authenticated requests are read at once."""

    def __init__(self, limit: int, wait: float) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._wait = wait

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot while reading; ``Busy`` if none frees up within ``wait`` seconds."""
        try:
            async with asyncio.timeout(self._wait):
                await self._slots.acquire()
        except TimeoutError:
            raise Busy(f"no slot within {self._wait:g}s") from None
        try:
            yield
        finally:
            self._slots.release()
