"""Atheris harness: ``validate_session`` and ``refresh`` on arbitrary bytes.

Run (outside CI, as long as you like)::

    pip install atheris
    PYTHONPATH=src python fuzz/fuzz_tokens.py -max_total_time=600 fuzz/corpus/tokens

Every input is used three ways: as raw bytes, as text, and as edits to a
real access and refresh token. The harness crashes (and atheris saves the
input) on any exception that is not an ``AuthError``.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from secure_auth import AuthConfig, AuthError, MemoryStore, SyncAuthService, generate_keypair

CHEAP = AuthConfig(argon2_time_cost=1, argon2_memory_cost=64, argon2_parallelism=1)
AUTH = SyncAuthService(*generate_keypair(), MemoryStore(), config=CHEAP)
_USER = AUTH.register_user({"id": "fuzz", "password": "pw"})
TOKENS = AUTH.login(_USER, "pw", ip_address="192.0.2.1")


def edit(token: str, fdp: atheris.FuzzedDataProvider) -> str:
    text = token
    for _ in range(fdp.ConsumeIntInRange(1, 4)):
        if not text:
            break
        i = fdp.ConsumeIntInRange(0, len(text) - 1)
        op = fdp.ConsumeIntInRange(0, 3)
        if op == 0:
            text = text[:i] + fdp.ConsumeUnicodeNoSurrogates(1) + text[i + 1 :]
        elif op == 1:
            text = text[:i] + fdp.ConsumeUnicodeNoSurrogates(4) + text[i:]
        elif op == 2:
            text = text[:i] + text[i + fdp.ConsumeIntInRange(1, 8) :]
        else:
            parts = text.split(".")
            parts.reverse()
            text = ".".join(parts)
    return text


def check(call: object, value: object, original: str | None = None) -> None:
    try:
        call(value)  # type: ignore[operator]
    except AuthError:
        return
    if original is not None and value != original:
        raise AssertionError(f"an edited token was accepted: {value!r}")


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    choice = fdp.ConsumeIntInRange(0, 3)
    if choice == 0:
        check(AUTH.validate_session, fdp.ConsumeBytes(fdp.remaining_bytes()))
    elif choice == 1:
        check(AUTH.validate_session, fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes()))
    elif choice == 2:
        token = edit(TOKENS.access_token, fdp)
        check(AUTH.validate_session, token, TOKENS.access_token)
    else:
        token = edit(TOKENS.refresh_token, fdp)
        # A refresh that succeeds rotates; only the untouched token may do so.
        check(AUTH.refresh, token, TOKENS.refresh_token)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
