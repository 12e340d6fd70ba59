"""A software WebAuthn authenticator *and* client, for API-level tests.

It produces what a browser posts after ``navigator.credentials.create/get``:
real ``clientDataJSON``, real CBOR attestation objects (``"none"`` or packed
self-attestation) and real signatures (Ed25519 or ES256, via
``cryptography``). Every field can be bent on request, so each test can
forge exactly the response its attack needs and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
_UNSET: Any = object()


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftCredential:
    raw_id: bytes
    key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    user_handle: bytes
    rp_id: str
    sign_count: int = 0

    @property
    def id(self) -> str:
        return b64u(self.raw_id)

    @property
    def alg(self) -> int:
        return -8 if isinstance(self.key, Ed25519PrivateKey) else -7

    def cose_key(self) -> bytes:
        if isinstance(self.key, Ed25519PrivateKey):
            from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

            x = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            return cbor2.dumps({1: 1, 3: -8, -1: 6, -2: x})
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.key, Ed25519PrivateKey):
            return self.key.sign(data)
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))


def ec2_cose_key(x: bytes, y: bytes, alg: int = -7, crv: int = 1) -> bytes:
    return cbor2.dumps({1: 2, 3: alg, -1: crv, -2: x, -3: y})


def okp_cose_key(x: bytes) -> bytes:
    return cbor2.dumps({1: 1, 3: -8, -1: 6, -2: x})


@dataclass
class SoftAuthenticator:
    """One authenticator (a device, or a synced passkey provider) plus the
    browser around it, at ``origin`` for relying party ``rp_id``.

    ``counter_step`` is how much the signature counter grows per assertion:
    1 like a security key, 0 like a synced passkey.
    """

    rp_id: str
    origin: str
    alg: str = "ed25519"
    user_verified: bool = True
    backup_eligible: bool = False
    backup_state: bool = False
    counter_step: int = 1
    aaguid: bytes = bytes(range(16))
    transports: tuple[str, ...] = ("internal", "hybrid")
    credentials: list[SoftCredential] = field(default_factory=list)

    def _new_key(self) -> Ed25519PrivateKey | ec.EllipticCurvePrivateKey:
        if self.alg == "ed25519":
            return Ed25519PrivateKey.generate()
        return ec.generate_private_key(ec.SECP256R1())

    def _flags(self, *, up: bool, uv: bool | None, extra: int = 0) -> int:
        flags = extra
        if up:
            flags |= UP
        if self.user_verified if uv is None else uv:
            flags |= UV
        if self.backup_eligible:
            flags |= BE
        if self.backup_state:
            flags |= BS
        return flags

    @staticmethod
    def _client_data(
        type_: str, challenge: str, origin: str, cross_origin: Any, extra: dict[str, Any]
    ) -> bytes:
        data: dict[str, Any] = {"type": type_, "challenge": challenge, "origin": origin}
        if cross_origin is not _UNSET:
            data["crossOrigin"] = cross_origin
        data.update(extra)
        return json.dumps(data, separators=(",", ":")).encode()

    # -- navigator.credentials.create ------------------------------------------

    def create(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: str | None = None,
        client_type: str = "webauthn.create",
        cross_origin: Any = False,
        client_extra: dict[str, Any] | None = None,
        up: bool = True,
        uv: bool | None = None,
        fmt: str = "none",
        att_stmt: dict[str, Any] | None = None,
        cose_key: bytes | None = None,
        raw_id: bytes | None = None,
        attested_id: bytes | None = None,
        sign_count: int = 0,
        flags_extra: int = 0,
        forge_attestation_signature: bool = False,
        keep: bool = True,
    ) -> dict[str, Any]:
        """Make a credential for ``options`` and return RegistrationResponseJSON."""
        rp = rp_id or self.rp_id
        cred = SoftCredential(
            raw_id=raw_id if raw_id is not None else os.urandom(16),
            key=self._new_key(),
            user_handle=b64u_decode(options["user"]["id"]),
            rp_id=rp,
            sign_count=sign_count,
        )
        public = cose_key if cose_key is not None else cred.cose_key()
        cred_id = attested_id if attested_id is not None else cred.raw_id
        attested = self.aaguid + struct.pack(">H", len(cred_id)) + cred_id + public
        auth_data = (
            hashlib.sha256(rp.encode()).digest()
            + bytes([self._flags(up=up, uv=uv, extra=flags_extra | AT)])
            + struct.pack(">I", sign_count)
            + attested
        )
        client = self._client_data(
            client_type,
            challenge if challenge is not None else options["challenge"],
            origin or self.origin,
            cross_origin,
            client_extra or {},
        )
        if att_stmt is None:
            if fmt == "packed":
                signature = cred.sign(auth_data + hashlib.sha256(client).digest())
                if forge_attestation_signature:
                    signature = cred.sign(b"something else entirely")
                att_stmt = {"alg": cred.alg, "sig": signature}
            else:
                att_stmt = {}
        attestation = cbor2.dumps({"fmt": fmt, "attStmt": att_stmt, "authData": auth_data})
        if keep:
            self.credentials.append(cred)
        return {
            "id": cred.id,
            "rawId": cred.id,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64u(client),
                "attestationObject": b64u(attestation),
                "transports": list(self.transports),
            },
        }

    # -- navigator.credentials.get ---------------------------------------------

    def get(
        self,
        options: dict[str, Any],
        *,
        credential: SoftCredential | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: str | None = None,
        client_type: str = "webauthn.get",
        cross_origin: Any = False,
        client_extra: dict[str, Any] | None = None,
        up: bool = True,
        uv: bool | None = None,
        sign_count: int | None = None,
        user_handle: Any = _UNSET,
        forge_signature: bool = False,
    ) -> dict[str, Any]:
        """Answer ``options`` and return AuthenticationResponseJSON.

        Picks the first of its credentials that ``allowCredentials`` names
        (or any, when the list is empty: a discoverable credential).
        """
        if credential is None:
            allowed = {c["id"] for c in options.get("allowCredentials") or []}
            matches = [c for c in self.credentials if not allowed or c.id in allowed]
            assert matches, "this authenticator holds no allowed credential"
            credential = matches[0]
        if sign_count is None:
            credential.sign_count += self.counter_step
            sign_count = credential.sign_count
        auth_data = (
            hashlib.sha256((rp_id or credential.rp_id).encode()).digest()
            + bytes([self._flags(up=up, uv=uv)])
            + struct.pack(">I", sign_count)
        )
        client = self._client_data(
            client_type,
            challenge if challenge is not None else options["challenge"],
            origin or self.origin,
            cross_origin,
            client_extra or {},
        )
        signature = credential.sign(auth_data + hashlib.sha256(client).digest())
        if forge_signature:
            signature = credential.sign(auth_data + hashlib.sha256(client + b" ").digest())
        handle = b64u(credential.user_handle) if user_handle is _UNSET else user_handle
        return {
            "id": credential.id,
            "rawId": credential.id,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64u(client),
                "authenticatorData": b64u(auth_data),
                "signature": b64u(signature),
                "userHandle": handle,
            },
        }
