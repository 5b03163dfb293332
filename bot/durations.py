"""How long something took, for people to read: ``3d 4h``, ``5m 2s``, ``0s``. Pure."""

from __future__ import annotations

from datetime import timedelta


def format_duration(delta: timedelta) -> str:
    """``3d 4h``, ``5m 2s``, ``0s``: the two largest units, for people to read."""
    seconds = max(0, int(delta.total_seconds()))
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    parts: list[str] = []
    for suffix, size in units:
        amount, seconds = divmod(seconds, size)
        if amount or (suffix == "s" and not parts):
            parts.append(f"{amount}{suffix}")
    return " ".join(parts[:2])
