"""Where the demo listens, where it keeps its data, and the matching AuthConfig."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from secure_auth import AuthConfig

__all__ = ["CHEAP_HASH_ENV", "DemoSettings"]

CHEAP_HASH_ENV = "SECURE_AUTH_DEMO_CHEAP_HASH"
"""Test-only: set to ``1`` to hash passwords with cheap Argon2id parameters
(64 KiB, one pass). It makes the browser tests fast; never use it for real
passwords."""

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0", "::"})  # noqa: S104


@dataclass(frozen=True, slots=True)
class DemoSettings:
    """The demo's few knobs.

    Attributes:
        host: the address uvicorn binds to.
        port: the TCP port.
        data_dir: keys (``private.pem``, ``public.pem``) and ``sessions.db``,
            which holds the sessions, challenges and passkeys and the demo's
            own ``demo_users`` table.
        cheap_hash: test-only cheap Argon2id parameters (see
            :data:`CHEAP_HASH_ENV`).
    """

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".secure-auth")
    cheap_hash: bool = False

    @classmethod
    def from_env(cls, host: str, port: int, data_dir: Path) -> DemoSettings:
        """Settings for ``secure-auth demo``; reads :data:`CHEAP_HASH_ENV`."""
        cheap = os.environ.get(CHEAP_HASH_ENV, "").strip().lower() in {"1", "true", "yes"}
        return cls(host=host, port=port, data_dir=Path(data_dir), cheap_hash=cheap)

    @property
    def rp_id(self) -> str:
        """The WebAuthn relying party id.

        Browsers allow WebAuthn over plain http only on ``localhost``, and an
        RP id must be a domain (not an IP address): a loopback or wildcard
        bind therefore uses ``localhost``, and the demo is opened there.
        """
        host = self.host.strip("[]").lower()
        return "localhost" if host in _LOOPBACK else host

    @property
    def url(self) -> str:
        """The address to open in a browser (``http://localhost:PORT``)."""
        host = self.rp_id
        return f"http://{host}:{self.port}" if self.port != 80 else f"http://{host}"

    @property
    def passkeys_possible(self) -> bool:
        """Passkeys need a secure context: over http that is ``localhost`` only."""
        return self.rp_id == "localhost"

    @property
    def database(self) -> Path:
        return self.data_dir / "sessions.db"

    def auth_config(self) -> AuthConfig:
        """Library defaults, with the WebAuthn relying party set from host and port."""
        config = AuthConfig(
            rp_id=self.rp_id,
            rp_name="secure-auth demo",
            expected_origins=(self.url,),
        )
        if self.cheap_hash:
            config = config.replace(argon2_time_cost=1, argon2_memory_cost=64, argon2_parallelism=1)
        return config
