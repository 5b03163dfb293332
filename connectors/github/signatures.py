"""Webhook signatures: ``X-Hub-Signature-256`` over the raw body, and nothing weaker.

GitHub signs each delivery with HMAC-SHA256 of the exact body bytes under the hook's
secret and sends ``sha256=<hex>``. ``verify`` accepts a delivery when the signature
matches any of the given secrets (several during a rotation). It never accepts the
legacy SHA-1 header, a missing header or a malformed one, and it compares in constant
time (``hmac.compare_digest``) against every secret, so the time taken does not reveal
which secret, or how much of a signature, matched.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

PREFIX = "sha256="


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
