"""The shared test vectors: RFC 8037 and Wycheproof Ed25519."""

from __future__ import annotations

import json

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from conftest import VECTORS
from secure_auth import ConfigurationError, KeySet, load_public_key
from secure_auth._ed25519 import is_safe_public_key
from secure_auth.keys import public_key_from_jwk, thumbprint
from tokens_util import b64u


def _load(name: str) -> dict:
    path = VECTORS / name
    if not path.exists():
        pytest.fail(f"shared test vectors missing at {path}")
    return json.loads(path.read_text())


RFC = _load("rfc8037_ed25519.json")
WYCHEPROOF = _load("wycheproof_ed25519_test.json")
SMALL_ORDER = _load("wycheproof_ed25519_test_pr271_small_order.json")


def rfc_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(RFC["hex"]["d_seed"]))


def test_rfc8037_signature_is_reproduced_byte_for_byte() -> None:
    jws = RFC["A.4_jws"]
    signing_input = f"{jws['protected_header_b64u']}.{jws['payload_b64u']}"
    signature = rfc_private_key().sign(signing_input.encode())
    assert signature.hex() == RFC["hex"]["signature"]
    assert f"{signing_input}.{b64u(signature)}" == jws["compact"]


def test_rfc8037_public_key_and_thumbprint() -> None:
    public = public_key_from_jwk(RFC["A.2_public_jwk"])
    assert thumbprint(public) == RFC["A.3_thumbprint"]["sha256_base64url"]
    pem_key = load_public_key(RFC["public_key_spki_pem"])
    assert thumbprint(pem_key) == RFC["A.3_thumbprint"]["sha256_base64url"]
    assert KeySet(rfc_private_key()).signing_kid == RFC["A.3_thumbprint"]["sha256_base64url"]


def test_rfc8037_jwks_export_round_trips() -> None:
    keys = KeySet(rfc_private_key())
    (jwk,) = keys.jwks()["keys"]
    assert jwk["x"] == RFC["A.2_public_jwk"]["x"]
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and "d" not in jwk
    assert KeySet.from_jwks(keys.jwks()).kids() == keys.kids()


def _cases(doc: dict):
    for group in doc["testGroups"]:
        pk = bytes.fromhex(group["publicKey"]["pk"])
        for case in group["tests"]:
            yield pk, case


def test_every_wycheproof_verdict_matches() -> None:
    checked = 0
    for pk, case in _cases(WYCHEPROOF):
        key = Ed25519PublicKey.from_public_bytes(pk)
        try:
            key.verify(bytes.fromhex(case["sig"]), bytes.fromhex(case["msg"]))
            verdict = "valid"
        except InvalidSignature:
            verdict = "invalid"
        assert verdict == case["result"], case["tcId"]
        checked += 1
    assert checked == WYCHEPROOF["numberOfTests"]


def _small_order_keys() -> dict[bytes, set[str]]:
    keys: dict[bytes, set[str]] = {}
    for pk, case in _cases(SMALL_ORDER):
        keys.setdefault(pk, set()).update(case["flags"])
    return keys


def test_small_and_mixed_order_keys_are_refused_as_keys() -> None:
    keys = _small_order_keys()
    bad = {
        pk for pk, flags in keys.items() if flags & {"SmallOrderPublicKey", "MixedOrderPublicKey"}
    }
    assert len(bad) >= 29
    for pk in bad:
        assert not is_safe_public_key(pk), pk.hex()
        with pytest.raises(ConfigurationError, match="small-order or mixed-order"):
            load_public_key(Ed25519PublicKey.from_public_bytes(pk))


def test_ordinary_keys_of_the_vector_files_are_accepted() -> None:
    keys = _small_order_keys()
    good = [pk for pk, f in keys.items() if not f & {"SmallOrderPublicKey", "MixedOrderPublicKey"}]
    good += [pk for pk, _ in _cases(WYCHEPROOF)]
    assert good
    for pk in set(good):
        assert is_safe_public_key(pk), pk.hex()


def test_small_order_forgeries_verify_in_the_library_but_their_keys_are_refused() -> None:
    """Show the attack: the library accepts these forgeries; our key check stops them."""
    forged = 0
    for pk, case in _cases(SMALL_ORDER):
        if not set(case["flags"]) & {"SmallOrderPublicKey", "MixedOrderPublicKey"}:
            continue
        key = Ed25519PublicKey.from_public_bytes(pk)
        try:
            key.verify(bytes.fromhex(case["sig"]), bytes.fromhex(case["msg"]))
        except InvalidSignature:
            continue
        forged += 1
        with pytest.raises(ConfigurationError):
            KeySet(None, [key])
    assert forged >= 29  # the vectors README: all of them verify in cryptography
