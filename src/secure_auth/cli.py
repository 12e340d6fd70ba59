"""The ``secure-auth`` command: keygen, jwks, hash-password, walkthrough, demo, bench."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import AuthError
from .keys import DEFAULT_KEY_DIR, KeySet, write_keypair

__all__ = ["main"]


def _keygen(args: argparse.Namespace) -> int:
    private, public = write_keypair(args.dir, force=args.force)
    print(f"wrote {private} (mode 0600) and {public}")
    print(f"kid: {KeySet.from_pem(private, public).signing_kid}")
    return 0


def _jwks(args: argparse.Namespace) -> int:
    keys = KeySet.load(args.dir)
    print(json.dumps(keys.jwks(args.alg), indent=2))
    return 0


def _hash_password(args: argparse.Namespace) -> int:
    from .config import AuthConfig
    from .passwords import PasswordHasher

    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass("Password: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    print(PasswordHasher(AuthConfig()).hash(password))
    return 0


def _walkthrough(args: argparse.Namespace) -> int:
    """register -> login -> validate -> refresh -> logout on the SQLite default."""
    from .errors import SessionRevoked
    from .stores.sqlite import SQLiteStore
    from .sync import SyncAuthService

    data_dir = Path(args.data_dir)
    if not (data_dir / "private.pem").exists():
        write_keypair(data_dir)
        print(f"1. created an Ed25519 key pair in {data_dir}/")
    else:
        print(f"1. using the key pair in {data_dir}/")
    store = SQLiteStore(data_dir / "sessions.db")
    auth = SyncAuthService(keys=KeySet.load(data_dir), session_store=store)
    user = auth.register_user({"id": "alice", "login": "alice", "password": "correct horse"})
    print(f"2. register_user -> password stored as {user['password'][:31]}...")
    tokens = auth.login(user, "correct horse", user_agent="secure-auth walkthrough")
    print(
        f"3. login -> session {tokens.session_id[:12]}..., access token "
        f"{len(tokens.access_token)} bytes (Ed25519, kid {auth.keys.signing_kid})"
    )
    info = auth.validate_session(tokens.access_token)
    print(f"4. validate_session -> user {info.user_id!r}, signed in by {info.auth_method}")
    rotated = auth.refresh(tokens.refresh_token)
    print("5. refresh -> new access and refresh tokens; the old refresh token is now spent")
    auth.logout(rotated.session_id)
    try:
        auth.validate_session(rotated.access_token)
    except SessionRevoked as exc:
        print(f"6. logout -> the same access token is refused at once: {exc.code}")
    else:  # pragma: no cover - would be a revocation bug
        print("6. logout -> ERROR: the token still validates", file=sys.stderr)
        return 1
    auth.close()
    return 0


def _demo(args: argparse.Namespace) -> int:
    import importlib

    try:
        run = importlib.import_module("secure_auth.demo").run
    except ImportError:
        # The web demo needs the [demo] extra; without it, show the CLI walkthrough.
        print("The web demo needs: pip install 'secure-auth[demo]'. Running the CLI walkthrough.")
        return _walkthrough(args)
    run(host=args.host, port=args.port, data_dir=Path(args.data_dir))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from ._bench import run

    run(full=args.full)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="secure-auth", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("keygen", help="create an Ed25519 key pair (private key mode 0600)")
    p.add_argument("--dir", default=os.fspath(DEFAULT_KEY_DIR), help="folder (.secure-auth)")
    p.add_argument("--force", action="store_true", help="replace existing keys")
    p.set_defaults(func=_keygen)

    p = sub.add_parser("jwks", help="print the public keys as a JWKS document")
    p.add_argument("--dir", default=None, help="key folder (default: env vars or .secure-auth)")
    p.add_argument("--alg", default="EdDSA", choices=["EdDSA", "Ed25519"])
    p.set_defaults(func=_jwks)

    p = sub.add_parser("hash-password", help="Argon2id hash of a password read from stdin")
    p.set_defaults(func=_hash_password)

    p = sub.add_parser("walkthrough", help="register, login, validate, refresh, logout")
    p.add_argument("--data-dir", default=os.fspath(DEFAULT_KEY_DIR))
    p.set_defaults(func=_walkthrough)

    p = sub.add_parser("demo", help="run the demo web app")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--data-dir", default=os.fspath(DEFAULT_KEY_DIR))
    p.set_defaults(func=_demo)

    p = sub.add_parser(
        "bench",
        help="measure validate_session, the token cache and login on this machine",
        description="Goals 1-4 of BENCHMARKS.md on the memory and SQLite stores, as ratios "
        "against raw Ed25519, store and Argon2 calls measured in the same run.",
    )
    p.add_argument("--full", action="store_true", help="more rounds: slower, steadier")
    p.set_defaults(func=_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except AuthError as exc:
        print(f"secure-auth: {exc.reason}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
