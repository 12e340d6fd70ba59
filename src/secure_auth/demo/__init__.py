"""The demo web app: ``secure-auth demo`` (``pip install 'secure-auth[demo]'``).

Sign up and sign in with a password or a passkey, see and end your sessions,
manage passkeys, change your password: every screen a newcomer expects, built
only on secure-auth's public API (Starlette integration, SQLite store). See
docs/demo.md.

Importing this package needs the ``[demo]`` extra; without it the ImportError
names the ``pip install`` line (and ``secure-auth demo`` falls back to the
command-line walkthrough).
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

try:
    import jinja2  # noqa: F401
    import python_multipart  # noqa: F401
    import starlette  # noqa: F401
    import uvicorn
    import webauthn  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        f"the demo needs {exc.name}: pip install 'secure-auth[demo]'", name="secure_auth.demo"
    ) from exc

from secure_auth import KeySet, write_keypair

from .app import Demo, create_app
from .settings import CHEAP_HASH_ENV, DemoSettings

__all__ = ["CHEAP_HASH_ENV", "Demo", "DemoSettings", "create_app", "prepare", "run"]


def prepare(settings: DemoSettings) -> tuple[KeySet, bool]:
    """Load the signing keys, creating them in ``settings.data_dir`` on first run.

    Returns the keys and whether they were created now. Keys named by
    ``JWT_PRIVATE_KEY`` / ``JWT_PUBLIC_KEY`` win, as everywhere in secure-auth.
    """
    created = False
    if not os.environ.get("JWT_PRIVATE_KEY") and not (settings.data_dir / "private.pem").exists():
        write_keypair(settings.data_dir)
        created = True
    return KeySet.load(settings.data_dir), created


class _Server(uvicorn.Server):
    """uvicorn, printing the address once the socket really listens."""

    def __init__(self, config: uvicorn.Config, url: str) -> None:
        super().__init__(config)
        self.url = url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.should_exit:
            print(f"\n  secure-auth demo: open {self.url}  (Ctrl+C stops it)\n", flush=True)


def run(host: str = "127.0.0.1", port: int = 8000, data_dir: Path = Path(".secure-auth")) -> None:
    """Serve the demo with uvicorn until Ctrl+C (what ``secure-auth demo`` calls)."""
    settings = DemoSettings.from_env(host, port, data_dir)
    keys, created = prepare(settings)
    where = os.fspath(settings.data_dir)
    if created:
        print(f"Created an Ed25519 key pair in {where}/ (private key mode 0600).")
    print(f"Data: {os.fspath(settings.database)} (sessions, passkeys and the demo's users).")
    if settings.cheap_hash:
        print(
            f"WARNING: {CHEAP_HASH_ENV} is set: passwords get test-only Argon2 parameters.",
            file=sys.stderr,
        )
    if not settings.passkeys_possible:
        print(
            "Note: browsers allow passkeys over http only on localhost; "
            "bind to 127.0.0.1 to try them.",
            file=sys.stderr,
        )
    config = uvicorn.Config(
        create_app(settings, keys),
        host=host,
        port=port,
        log_level="warning",
        server_header=False,
        proxy_headers=False,
    )
    server = _Server(config, settings.url)
    try:
        server.run()
    except KeyboardInterrupt:  # Ctrl+C: uvicorn has shut down cleanly, no traceback
        print("\nsecure-auth demo: stopped.")
    except SystemExit:
        if not server.started:  # uvicorn exits when it cannot bind
            print(
                f"Could not listen on {host}:{port}. Is another program using that port? "
                f"Try: secure-auth demo --port {port + 1}",
                file=sys.stderr,
            )
        raise
