"""API keys: bearer tokens with read / write / admin access per knowledge base.

With no keys configured every caller is the local user with full access, which is only
allowed while the server binds loopback; ``check_bind`` refuses anything else.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass, field
from typing import Literal

from chatkb.errors import ConfigError, ForbiddenError, UnauthorizedError
from chatkb.settings import ServerSettings

Access = Literal["read", "write", "admin"]
RANK: dict[str, int] = {"read": 1, "write": 2, "admin": 3}
ALL = "*"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's name and its access map (``*`` covers every knowledge base)."""

    name: str
    access: dict[str, Access] = field(default_factory=dict)

    def level(self, kb: str) -> int:
        return max(RANK.get(self.access.get(kb, ""), 0), RANK.get(self.access.get(ALL, ""), 0))

    def can(self, kb: str, needed: Access) -> bool:
        return self.level(kb) >= RANK[needed]

    def require(self, kb: str, needed: Access) -> None:
        if not self.can(kb, needed):
            raise ForbiddenError(
                f"this API key has no {needed} access to knowledge base {kb!r}; "
                "ask an administrator to extend its access in [server] api_keys"
            )


LOCAL = Principal("", {ALL: "admin"})


class KeyRing:
    """The configured keys; ``authenticate`` turns an Authorization header into a Principal."""

    def __init__(self, settings: ServerSettings) -> None:
        self._keys = [
            (k.key.encode(), Principal(k.name or f"key-{i + 1}", dict(k.access)))
            for i, k in enumerate(settings.api_keys)
        ]

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def authenticate(self, authorization: str | None) -> Principal:
        if not self.enabled:
            return LOCAL
        token = _bearer(authorization)
        if token is None:
            raise UnauthorizedError(
                "this server requires an API key: send the header 'Authorization: Bearer KEY'"
            )
        found = None
        for key, principal in self._keys:
            # Compare against every key so timing says nothing about which one nearly matched.
            if hmac.compare_digest(key, token.encode()):
                found = principal
        if found is None:
            raise UnauthorizedError("unknown API key; check the key in [server] api_keys")
        return found


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(settings: ServerSettings) -> None:
    """Refuse to serve beyond loopback without API keys."""
    if not is_loopback(settings.host) and not settings.api_keys:
        raise ConfigError(
            f"refusing to listen on {settings.host} without API keys: anyone on the network "
            "could read and change every knowledge base. Add [[server.api_keys]] entries to "
            "config.toml (see docs/api.md#auth), or bind 127.0.0.1"
        )
