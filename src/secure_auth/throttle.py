"""Pure throttling rules: which counters an attempt touches, and when to refuse.

Nothing here does I/O or reads the clock. The flows (``_throttle_flows``)
sequence these rules with the calls of a :class:`~secure_auth.stores.base.ThrottleStore`,
so both faces throttle identically.

**Scopes.** A password attempt is counted under two scopes:

* ``account_ip``: the account *and* the client IP (5 failures per 5 min);
* ``ip``: the client IP, whatever the account (30 failures per min).

There is deliberately no scope for the account alone: whoever knows a user
name could then lock its owner out from everywhere. The account + IP scope
stops guessing one password from one place; the IP scope stops spraying many
accounts from one place. Refresh and passkey failures have a per-IP scope
each (``refresh_ip``, ``passkey_ip``).

**Keys.** A scope keeps three counters in the store, under opaque keys
derived with SHA-256 (no user name or address is stored in clear, and no
caller input reaches a key name): ``...:f`` counts failures in the current
window, ``...:b`` exists while the scope is locked out, ``...:s`` counts the
lockouts (strikes) for the exponential backoff.

**IPs.** IPv4-mapped IPv6 addresses count as their IPv4 address; IPv6
addresses count by their /64 (configurable): one subscriber usually holds a
whole /64, and counting single addresses would hand out 2**64 budgets.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import math
import unicodedata
from dataclasses import dataclass
from typing import Any

from .config import ThrottleConfig, ThrottleLimit
from .errors import StoreUnavailable

__all__ = [
    "ThrottleScope",
    "account_key",
    "login_scopes",
    "normalize_ip",
    "parse_state",
    "passkey_scopes",
    "refresh_scopes",
    "retry_after",
]

_KEY_PREFIX = "thr"


def normalize_ip(ip_address: str, ipv6_prefix: int = 64) -> str:
    """The address a client is counted under.

    IPv4 stays as it is; IPv4-mapped IPv6 (``::ffff:192.0.2.1``) becomes the
    IPv4 address; other IPv6 addresses become their ``/ipv6_prefix`` network.
    Anything that is not an IP address (an application's own label, a Unix
    socket peer) is used as given, stripped and clipped to 128 characters.
    """
    text = ip_address.strip()
    try:
        addr = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return text[:128]
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        network = ipaddress.IPv6Network((addr, ipv6_prefix), strict=False)
        return str(network)
    return str(addr)


def account_key(account: str) -> str:
    """The account as counted: NFKC, case-folded, stripped.

    Folding case can only merge budgets (``Alice`` and ``alice`` share one),
    never split them, so an attacker cannot multiply his budget by varying
    case or Unicode forms.
    """
    return unicodedata.normalize("NFKC", account).casefold().strip()


def _digest(*parts: str) -> str:
    raw = hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).digest()
    return base64.urlsafe_b64encode(raw[:18]).decode("ascii")


@dataclass(frozen=True, slots=True)
class ThrottleScope:
    """One budget an attempt is counted under (see the module docstring)."""

    name: str
    limit: ThrottleLimit
    base: str

    @property
    def failures_key(self) -> str:
        return f"{self.base}:f"

    @property
    def block_key(self) -> str:
        return f"{self.base}:b"

    @property
    def strikes_key(self) -> str:
        return f"{self.base}:s"


def _scope(name: str, limit: ThrottleLimit, *parts: str) -> ThrottleScope:
    return ThrottleScope(name, limit, f"{_KEY_PREFIX}:{name}:{_digest(name, *parts)}")


def login_scopes(
    config: ThrottleConfig, *, account: str | None, ip_address: str | None
) -> tuple[ThrottleScope, ...]:
    """The scopes of a password attempt (login or change of password).

    Without a client IP nothing is counted: an account-only counter is
    exactly what must not exist (see the module docstring). The service
    logs a warning once when that happens.
    """
    if not config.enabled or ip_address is None:
        return ()
    ip = normalize_ip(ip_address, config.ipv6_prefix)
    scopes = []
    if account is not None:
        scopes.append(_scope("account_ip", config.account_ip, account_key(account), ip))
    scopes.append(_scope("ip", config.ip, ip))
    return tuple(scopes)


def refresh_scopes(config: ThrottleConfig, ip_address: str | None) -> tuple[ThrottleScope, ...]:
    """The scope of a refresh: failed refreshes per client IP."""
    if not config.enabled or ip_address is None:
        return ()
    return (_scope("refresh_ip", config.refresh_ip, normalize_ip(ip_address, config.ipv6_prefix)),)


def passkey_scopes(config: ThrottleConfig, ip_address: str | None) -> tuple[ThrottleScope, ...]:
    """The scope of a passkey assertion: failed assertions per client IP."""
    if not config.enabled or ip_address is None:
        return ()
    return (_scope("passkey_ip", config.passkey_ip, normalize_ip(ip_address, config.ipv6_prefix)),)


def parse_state(value: Any) -> tuple[int, float]:
    """Check a store's ``(count, reset_at)`` answer: anything else fails closed.

    Raises:
        StoreUnavailable: the store answered something else.
    """
    if (
        isinstance(value, tuple | list)
        and len(value) == 2
        and type(value[0]) is int
        and isinstance(value[1], int | float)
        and not isinstance(value[1], bool)
        and math.isfinite(value[1])
    ):
        return value[0], float(value[1])
    raise StoreUnavailable("the throttle store must answer (count: int, reset_at: float)")


def retry_after(reset_at: float, now: float) -> float:
    """Seconds until ``reset_at`` (at least 1, so a client never retries at once)."""
    return max(1.0, reset_at - now)
