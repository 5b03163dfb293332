"""``Secret``: a value read from a secret reference, and what a reference looks like.

Secrets are only ever given by reference: ``env:NAME`` (an environment variable; ``NAME``
matches ``_ENV_NAME``) or ``file:PATH`` (a file's contents). The loader resolves references
once, at load time; this module only holds the values and the reference syntax.

Invariants
----------
- A ``Secret``'s value never appears in ``repr``, ``str``, ``render_config`` output or error
  messages: only its ``reference`` is shown, followed by ``_MASK``.
- A ``Secret`` is immutable, compares values in constant time, and cannot be pickled.
- No module state: importing this module only defines things.
"""

from __future__ import annotations

import hmac
import re
from typing import NoReturn

_MASK = "(secret, set)"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Secret:
    """A value read from a secret reference (``env:NAME`` or ``file:/abs/path``).

    ``reference`` says where the value came from and is safe to show; ``repr`` and ``str``
    show only the reference (``env:NAME (secret, set)``). ``reveal()`` returns the value;
    call it only where the value is used. Immutable; equality compares reference and value
    in constant time.
    """

    __slots__ = ("_value", "reference")

    reference: str
    _value: str

    def __init__(self, reference: str, value: str) -> None:
        kind, _, rest = reference.partition(":")
        if kind not in ("env", "file") or not rest:
            raise ValueError("a secret reference looks like env:NAME or file:PATH")
        object.__setattr__(self, "reference", reference)
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return f"{self.reference} {_MASK}"

    def __repr__(self) -> str:
        return f"<Secret {self}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return self.reference == other.reference and hmac.compare_digest(
            self._value.encode(), other._value.encode()
        )

    def __hash__(self) -> int:
        return hash(self.reference)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Secret is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Secret is immutable; cannot delete {name!r}")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Secret:
        return self

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled; pass its reference and load it again")


def _is_reference(text: str) -> bool:
    return text.startswith(("env:", "file:"))
