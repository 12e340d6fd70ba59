"""The pure passkey rules of ``secure_auth.passkeys``, without a service."""

from __future__ import annotations

import json

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from conftest import skip_or_fail
from secure_auth import PasskeyChallengeError, SignCountRegression, UnsafePasskeyKey
from secure_auth.passkeys import (
    AUTHENTICATION,
    REGISTRATION,
    ChallengeRecord,
    check_challenge,
    check_public_key,
    check_sign_count,
    new_user_handle,
)

from .softauthn import b64u, ec2_cose_key, okp_cose_key
from .vectors import MIXED_ORDER_KEYS, SMALL_ORDER_KEYS, SOURCE


def test_the_shared_vectors_are_there() -> None:
    if not SOURCE.exists():
        skip_or_fail(f"missing {SOURCE}")
    assert len(SMALL_ORDER_KEYS) == 8
    assert len(MIXED_ORDER_KEYS) == 22


@pytest.mark.parametrize("key_hex", SMALL_ORDER_KEYS + MIXED_ORDER_KEYS)
def test_every_small_and_mixed_order_ed25519_key_is_unsafe(key_hex: str) -> None:
    with pytest.raises(UnsafePasskeyKey, match="can"):
        check_public_key(okp_cose_key(bytes.fromhex(key_hex)))


def test_real_keys_are_safe() -> None:
    ed = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    check_public_key(okp_cose_key(ed))
    p256 = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    check_public_key(ec2_cose_key(p256.x.to_bytes(32, "big"), p256.y.to_bytes(32, "big")))
    point = ec.generate_private_key(ec.SECP256R1()).public_key()
    check_public_key(point.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))  # U2F
    numbers = rsa.generate_private_key(65537, 2048).public_key().public_numbers()
    check_public_key(_rsa_key(numbers.n, numbers.e))


def _rsa_key(n: int, e: int, alg: int = -257) -> bytes:
    return cbor2.dumps(
        {1: 3, 3: alg, -1: n.to_bytes((n.bit_length() + 7) // 8, "big"), -2: e.to_bytes(3, "big")}
    )


P256_P = 2**256 - 2**224 + 2**192 + 2**96 - 1


@pytest.mark.parametrize(
    "key, reason",
    [
        (okp_cose_key(b"\x01" * 31), "Ed25519 key is not a prime-order point"),
        (okp_cose_key(b"\xff" * 32), "Ed25519 key is not a prime-order point"),  # non-canonical
        (cbor2.dumps({1: 1, 3: -8, -1: 4, -2: b"\x00" * 32}), "OKP key is not Ed25519"),  # X25519
        (ec2_cose_key(b"\x01" * 31, b"\x01" * 32), "EC2 coordinates have the wrong length"),
        (ec2_cose_key(bytes(32), bytes(32)), "EC point is not on P-256"),
        (
            ec2_cose_key(P256_P.to_bytes(32, "big"), bytes(32)),
            "EC point is not on P-256",
        ),
        (ec2_cose_key(b"\x01" * 32, b"\x01" * 32, crv=2), "EC2 key is not ES256 on P-256"),
        (_rsa_key(2**1023 + 1, 65537), "RSA modulus is shorter than 2048 bits"),
        (_rsa_key(2**2047 + 1, 65537, alg=-37), "unsupported algorithm -37"),
        (cbor2.dumps({1: 2, 3: "ES256", -1: 1, -2: b"x", -3: b"y"}), "unsupported algorithm ES256"),
        (cbor2.dumps({1: 7, 3: -48, -1: b"x"}), "unsupported algorithm -48"),  # ML-DSA
        (b"\xa1\x01\x02", "undecodable public key: KeyError"),
        (b"\xff", "undecodable public key: InvalidCBORData"),
    ],
)
def test_unsafe_or_unsupported_keys_are_refused(key: bytes, reason: str) -> None:
    with pytest.raises(UnsafePasskeyKey) as info:
        check_public_key(key)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    "stored, received, ok",
    [
        (0, 0, True),  # synced passkeys: always 0
        (0, 1, True),
        (0, 7, True),
        (5, 6, True),
        (5, 5, False),
        (5, 4, False),
        (5, 0, False),  # a counter that went back to 0 is a regression too
    ],
)
def test_sign_count_policy(stored: int, received: int, ok: bool) -> None:
    if ok:
        check_sign_count("id", stored, received)
    else:
        with pytest.raises(SignCountRegression):
            check_sign_count("id", stored, received)


def test_challenge_record_round_trips_and_binds_its_ceremony() -> None:
    record = ChallengeRecord(REGISTRATION, "alice", new_user_handle(), "required")
    assert ChallengeRecord.from_json(record.to_json()) == record
    assert check_challenge(record.to_json(), ceremony=REGISTRATION, user_id="alice") == record
    for ceremony, user in ((AUTHENTICATION, None), (REGISTRATION, "bob")):
        with pytest.raises(PasskeyChallengeError):
            check_challenge(record.to_json(), ceremony=ceremony, user_id=user)


@pytest.mark.parametrize(
    "stored",
    ["", "[]", "{}", json.dumps({"ceremony": "login"}), json.dumps({"ceremony": 1}), "{" * 5],
)
def test_corrupt_challenge_record_is_a_challenge_error(stored: str) -> None:
    with pytest.raises(PasskeyChallengeError) as info:
        check_challenge(stored, ceremony=AUTHENTICATION)
    assert info.value.reason == "challenge_record_corrupt"


def test_user_handles_are_fresh_random_32_bytes() -> None:
    handles = {new_user_handle() for _ in range(50)}
    assert len(handles) == 50
    assert all(len(h) == len(b64u(bytes(32))) for h in handles)
