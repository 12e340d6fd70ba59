"""Atheris harness: passkey sign-in and registration on arbitrary input.

Run (outside CI)::

    pip install atheris cbor2
    PYTHONPATH=src:tests python fuzz/fuzz_passkeys.py -max_total_time=600 fuzz/corpus/passkeys

Inputs are used as raw JSON text, and as edits (a field replaced by fuzz
bytes, dropped, or cut short) of a real response from the software
authenticator of ``tests/passkeys``. Crashes on any exception that is not
an ``AuthError``.
"""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

import atheris

with atheris.instrument_imports():
    from secure_auth import AuthConfig, AuthError, MemoryStore, SyncAuthService, generate_keypair

from passkeys.softauthn import SoftAuthenticator

RP_ID, ORIGIN = "login.example.com", "https://login.example.com"
CONFIG = AuthConfig(
    argon2_time_cost=1,
    argon2_memory_cost=64,
    argon2_parallelism=1,
    rp_id=RP_ID,
    expected_origins=(ORIGIN,),
).replace(throttle=AuthConfig().throttle.replace(enabled=False))
AUTH = SyncAuthService(*generate_keypair(), MemoryStore(), config=CONFIG)
DEVICE = SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN)
AUTH.finish_passkey_registration(
    "alice", DEVICE.create(AUTH.register_passkey("alice", "alice@example.com"))
)


def edit(doc: dict[str, Any], fdp: atheris.FuzzedDataProvider) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for _ in range(fdp.ConsumeIntInRange(1, 3)):
        where = doc if fdp.ConsumeBool() else doc.get("response")
        if not isinstance(where, dict) or not where:
            break
        name = sorted(where)[fdp.ConsumeIntInRange(0, len(where) - 1)]
        op = fdp.ConsumeIntInRange(0, 2)
        if op == 0:
            where[name] = fdp.ConsumeUnicodeNoSurrogates(64)
        elif op == 1:
            where.pop(name)
        elif isinstance(where[name], str):
            where[name] = where[name][: fdp.ConsumeIntInRange(0, len(where[name]))]
    return doc


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    choice = fdp.ConsumeIntInRange(0, 2)
    try:
        if choice == 0:
            AUTH.login_with_passkey(fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes()))
        elif choice == 1:
            real = DEVICE.get(AUTH.passkey_login_options())
            AUTH.login_with_passkey(json.dumps(edit(real, fdp)))
        else:
            options = AUTH.register_passkey("bob", "bob@example.com")
            real = DEVICE.create(options, keep=False)
            AUTH.finish_passkey_registration("bob", edit(real, fdp))
    except AuthError:
        pass


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
