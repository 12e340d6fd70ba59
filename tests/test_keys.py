"""Key loading, matching, rotation sets, JWKS; key material never leaks."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

from secure_auth import (
    ConfigurationError,
    KeySet,
    SyncAuthService,
    generate_keypair,
    load_private_key,
    load_public_key,
    write_keypair,
)
from secure_auth.keys import public_key_from_jwk


def _secret_lines(pem: bytes) -> list[str]:
    return [line for line in pem.decode().splitlines() if not line.startswith("-----")]


def test_pem_text_bytes_paths_and_objects_load_alike(tmp_path: Path) -> None:
    private, public = generate_keypair()
    (tmp_path / "k.pem").write_bytes(private)
    from_bytes = load_private_key(private)
    for source in (private.decode(), tmp_path / "k.pem", from_bytes):
        assert KeySet(load_private_key(source)).signing_kid == KeySet(from_bytes).signing_kid
    assert KeySet.from_pem(private, public.decode()).signing_kid == KeySet(from_bytes).signing_kid


def test_mismatched_pair_is_refused_at_construction() -> None:
    private, _ = generate_keypair()
    _, other_public = generate_keypair()
    with pytest.raises(ConfigurationError, match="do not match"):
        SyncAuthService(private, other_public, session_store=None)


def test_non_ed25519_keys_are_refused() -> None:
    ec = generate_private_key(SECP256R1())
    pem = ec.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ConfigurationError, match="not an Ed25519 key"):
        load_private_key(pem)
    pub = ec.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ConfigurationError, match="not an Ed25519 key"):
        load_public_key(pub)


def test_key_material_never_appears_in_errors_reprs_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    private, public = generate_keypair()
    broken = private.replace(b"MC4CAQAw", b"MC4CAQAx")  # corrupt, still PEM-shaped
    messages = []
    for bad in (broken, private[:-40] + b"\n-----END PRIVATE KEY-----\n"):
        with pytest.raises(ConfigurationError) as info:
            load_private_key(bad)
        messages += [str(info.value), repr(info.value), info.value.reason]
        assert info.value.__cause__ is None and info.value.__suppress_context__
    keys = KeySet.from_pem(private, public)
    messages += [repr(keys), str(keys), caplog.text]
    for text in messages:
        for line in _secret_lines(private):
            assert line not in text
        assert "PRIVATE KEY" not in text


def test_plain_string_that_is_not_pem_is_not_taken_for_a_path() -> None:
    with pytest.raises(ConfigurationError, match="not PEM text"):
        load_private_key("/etc/passwd")


def test_env_vars_and_default_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "keys"
    private_path, public_path = write_keypair(folder)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JWT_PRIVATE_KEY", str(private_path))
    monkeypatch.setenv("JWT_PUBLIC_KEY", str(public_path))
    from_env = KeySet.load()
    monkeypatch.delenv("JWT_PRIVATE_KEY")
    monkeypatch.delenv("JWT_PUBLIC_KEY")
    with pytest.raises(ConfigurationError, match="secure-auth keygen"):
        KeySet.load()  # .secure-auth/ in tmp_path is empty
    write_keypair(tmp_path / ".secure-auth")
    assert KeySet.load().signing_kid != from_env.signing_kid
    assert KeySet.load(folder).signing_kid == from_env.signing_kid


def test_write_keypair_modes_and_refusal(tmp_path: Path) -> None:
    private_path, _public_path = write_keypair(tmp_path)
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    before = private_path.read_bytes()
    with pytest.raises(ConfigurationError, match="--force"):
        write_keypair(tmp_path)
    assert private_path.read_bytes() == before
    write_keypair(tmp_path, force=True)
    assert private_path.read_bytes() != before
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600


def test_keyset_for_rotation_lists_every_kid() -> None:
    _old_private, old_public = generate_keypair()
    new_private, _ = generate_keypair()
    keys = KeySet.from_pem(new_private, extra_public_keys=[old_public])
    assert len(keys.kids()) == 2 and keys.signing_kid == keys.kids()[0]
    jwks = keys.jwks()
    assert [k["kid"] for k in jwks["keys"]] == keys.kids()
    assert all("d" not in k for k in jwks["keys"])


def test_verification_only_keyset_cannot_sign() -> None:
    _, public = generate_keypair()
    keys = KeySet.from_pem(None, public)
    assert not keys.can_sign
    with pytest.raises(ConfigurationError, match="no private key"):
        _ = keys.signing_key


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "EC", "crv": "P-256", "x": "AA"},
        {"kty": "OKP", "crv": "X25519", "x": "AA"},
        {"kty": "OKP", "crv": "Ed25519", "x": "not base64!"},
        {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"},
        {"kty": "OKP", "crv": "Ed25519", "x": "AQ" + "A" * 41, "d": "secret"},
        {"kty": "OKP", "crv": "Ed25519", "x": "AQ" + "A" * 41},  # identity point
    ],
)
def test_bad_jwks_entries_are_refused(jwk: dict) -> None:
    with pytest.raises(ConfigurationError):
        public_key_from_jwk(jwk)
