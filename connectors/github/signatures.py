"""Webhook signatures: ``X-Hub-Signature-256`` over the raw body, and nothing weaker.

GitHub signs each delivery with HMAC-SHA256 of the exact body bytes under the hook's
secret and sends ``sha256=<hex>``. ``verify`` accepts a delivery when the signature
matches any of the given secrets (several during a rotation). It never accepts the
legacy SHA-1 header, a missing header or a malformed one, and it compares in constant
time (``hmac.compare_digest``) against every secret, so the time taken does not reveal
which secret, or how much of a signature, matched.

For a body read in chunks, ``well_formed`` checks the header before any byte is read,
``macs`` starts one HMAC per secret for the reader to feed, and ``matching`` compares
the finished HMACs with the header, all of them, in constant time each.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence

PREFIX = "sha256="
_WELL_FORMED = re.compile(r"sha256=[0-9a-f]{64}")


def sign(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` value GitHub would send for ``body``."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, secrets: Iterable[str]) -> bool:
    if header is None or not header.startswith(PREFIX):
        return False
    given = header.encode("ascii", errors="replace")
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(given, sign(body, secret).encode())
    return matched


def well_formed(header: str) -> bool:
    """Whether ``header`` has the shape GitHub sends: ``sha256=`` and 64 lower-case hex digits."""
    return _WELL_FORMED.fullmatch(header) is not None


def macs(secrets: Iterable[str]) -> list[hmac.HMAC]:
    """One fresh HMAC-SHA256 per secret, to be fed the body as it streams in."""
    return [hmac.new(secret.encode(), digestmod=hashlib.sha256) for secret in secrets]


def matching(header: str, finished: Sequence[hmac.HMAC]) -> list[bool]:
    """For each finished HMAC, whether ``header`` is its signature (every one compared)."""
    given = header.encode("ascii", errors="replace")
    return [hmac.compare_digest(given, (PREFIX + mac.hexdigest()).encode()) for mac in finished]
