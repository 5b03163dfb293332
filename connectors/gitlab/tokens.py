"""Who sent a webhook: GitLab's ``X-Gitlab-Token`` and its optional signing token. Pure.

``X-Gitlab-Token`` carries a hook's secret token verbatim (no HMAC, no timestamp).
``token_matches`` compares it with every configured token (several during a rotation) with
``hmac.compare_digest``, always against all of them, so the time taken reveals neither
which token nor how much of one matched. gidgetlab's own check compares with ``!=``; it is
never used.

The signing token follows the Standard Webhooks scheme (GitLab MR 230944): a token
``whsec_<base64 key>``; GitLab sends ``webhook-id`` (the Idempotency-Key),
``webhook-timestamp`` (Unix seconds) and ``webhook-signature``, one or more space-separated
``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``. ``check_signature`` accepts a
delivery when any signature matches any configured token and the timestamp is within
``TOLERANCE_SECONDS`` of now (the scheme's five minutes), so a captured delivery cannot be
replayed later.

Invariants: both checks run over the raw bytes, before anything parses them; an empty
configured token never matches; nothing here logs or returns a secret.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime

SIGNING_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
TOLERANCE_SECONDS = 300.0


class Signature(enum.Enum):
    """What the signing headers of a delivery say."""

    ABSENT = "absent"  # no webhook-signature header
    VALID = "valid"
    INVALID = "invalid"  # wrong, malformed, or outside the time window


def token_matches(header: str | None, tokens: Iterable[str]) -> bool:
    """Whether ``X-Gitlab-Token`` equals one of ``tokens`` (constant time per token)."""
    if header is None:
        return False
    given = header.encode("utf-8", errors="replace")
    matched = False
    for token in tokens:
        expected = token.encode("utf-8")
        matched |= bool(expected) & hmac.compare_digest(given, expected)
    return matched


def signing_key(token: str) -> bytes:
    """The HMAC key of a ``whsec_...`` signing token (a token without the prefix is
    base64 as well); ``ValueError`` if it is not base64."""
    encoded = token.removeprefix(SIGNING_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError("a signing token must be whsec_ followed by base64") from exc


def sign(body: bytes, token: str, webhook_id: str, timestamp: str) -> str:
    """The ``webhook-signature`` value GitLab would send (one ``v1,`` signature)."""
    content = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(token), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def check_signature(
    body: bytes, headers: Mapping[str, str], tokens: Iterable[str], now: datetime
) -> Signature:
    """Check the signing headers of a delivery against the configured signing tokens."""
    header = headers.get("webhook-signature")
    if header is None:
        return Signature.ABSENT
    webhook_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    if not webhook_id or not timestamp or not _recent(timestamp, now):
        return Signature.INVALID
    given = [
        value.encode()
        for version, _, value in (part.partition(",") for part in header.split())
        if version == SIGNATURE_VERSION and value
    ]
    matched = False
    for token in tokens:
        expected = sign(body, token, webhook_id, timestamp).partition(",")[2].encode()
        for candidate in given:
            matched |= hmac.compare_digest(candidate, expected)
    return Signature.VALID if matched else Signature.INVALID


def _recent(timestamp: str, now: datetime) -> bool:
    try:
        sent = float(timestamp)
    except ValueError:
        return False
    return abs(now.timestamp() - sent) <= TOLERANCE_SECONDS
