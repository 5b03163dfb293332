"""Who is calling the fake GitHub, decided as GitHub decides it.

``/app-manifests/{code}/conversions`` takes no credentials (the code is one).
``/app`` and ``/app/...`` operations take ``Authorization: Bearer <JWT>``: RS256, verified
with the App's public key, ``iss`` equal to the App id, ``iat`` not in the future (30 s of
skew allowed), ``exp - iat`` at most 600 s and ``exp`` still ahead. Anything else takes
``token <t>`` or ``Bearer <t>`` for a token the fake knows: added by a test, or minted for
an installation, unexpired, and then only for that installation's repositories.

Misuse (no credentials, a bad JWT, a JWT where a token belongs, a token outside its
installation) comes back as a ``Reply`` carrying a violation; an unknown or expired token is
a plain 401 "Bad credentials", a state clients must handle rather than a contract breach.
Messages are GitHub's where GitHub has one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from tests.fakes.github_handlers import Reply
from tests.fakes.github_state import Grant, World

# operations GitHub serves without credentials: the manifest code is the credential
UNAUTHENTICATED = frozenset({"/app-manifests/{code}/conversions"})
ANONYMOUS = ""
JWT_MAX_LIFETIME = 600
JWT_CLOCK_SKEW = 30
NOT_DECODED = "A JSON web token could not be decoded"


@dataclass(frozen=True)
class Auth:
    world: World
    app_public_key: str | bytes | RSAPublicKey | None

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.world.clock

    def authenticate(self, template: str, header: str | None) -> Grant | Reply:
        """The grant the request acts under, or the refusal to send back."""
        scheme, _, credential = (header or "").partition(" ")
        scheme, credential = scheme.lower(), credential.strip()
        if template in UNAUTHENTICATED:
            return Grant(ANONYMOUS)
        if template == "/app" or template.startswith("/app/"):
            if scheme != "bearer" or not credential:
                return _refuse(NOT_DECODED, "needs an App JWT (Bearer)")
            problem = self.jwt_problem(credential)
            if problem is not None:
                return _refuse(problem[0], f"App JWT rejected: {problem[1]}")
            return Grant(self.world.app_bot_login)
        if scheme not in ("token", "bearer") or not credential:
            return _refuse("Requires authentication", "no token in Authorization")
        grant = self.world.grants.get(credential)
        if grant is None and credential.count(".") == 2 and self.jwt_problem(credential) is None:
            return _refuse("Bad credentials", "an App JWT cannot call this; use a token")
        if grant is None or (grant.expires_at is not None and grant.expires_at <= self.clock()):
            return Reply(401, {"message": "Bad credentials"})
        return grant

    def jwt_problem(self, token: str) -> tuple[str, str] | None:
        """(GitHub's message, the violation) when ``token`` is not a valid App JWT now."""
        if self.app_public_key is None:
            return "Integration not found", "the fake was given no App public key"
        try:
            claims = jwt.decode(
                token,
                self.app_public_key,
                algorithms=["RS256"],
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_iss": False,
                    "require": ["iat", "exp", "iss"],
                },
            )
        except jwt.InvalidTokenError as error:
            return NOT_DECODED, f"invalid JWT ({error})"
        return self._claims_problem(claims)

    def _claims_problem(self, claims: dict[str, Any]) -> tuple[str, str] | None:
        now = self.clock().timestamp()
        iat, exp = claims["iat"], claims["exp"]
        if str(claims["iss"]) != self.world.app_id:
            return "Integration not found", f"iss {claims['iss']!r} is not the App id"
        if not isinstance(iat, int) or iat > now + JWT_CLOCK_SKEW:
            message = "'Issued at' claim ('iat') must be an Integer representing the time"
            return message, f"iat {iat!r} is in the future"
        if not isinstance(exp, int) or exp - iat > JWT_MAX_LIFETIME:
            message = "'Expiration time' claim ('exp') is too far in the future"
            return message, f"lifetime exp - iat = {exp - iat}s exceeds {JWT_MAX_LIFETIME}s"
        if exp <= now:
            message = "'Expiration time' claim ('exp') must be a numeric value in the future"
            return message, "the JWT has expired"
        return None

    def out_of_scope(self, grant: Grant, params: dict[str, Any]) -> Reply | None:
        """404 (GitHub hides what a token cannot see) for repos outside an installation."""
        installation = self.world.installations.get(grant.installation_id or -1)
        if installation is None or "owner" not in params or "repo" not in params:
            return None
        repo = f"{params['owner']}/{params['repo']}"
        if repo in (grant.repos if grant.repos is not None else installation.repos):
            return None
        violation = f"installation {installation.id}'s token cannot reach {repo}"
        return Reply(404, {"message": "Not Found"}, violations=(violation,))


def _refuse(message: str, violation: str) -> Reply:
    return Reply(401, {"message": message}, violations=(violation,))
