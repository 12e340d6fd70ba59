"""Forge tokens for attack tests: arbitrary header, payload and signing key."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def forge(
    header: dict[str, Any] | str | bytes,
    payload: dict[str, Any] | str | bytes,
    key: Ed25519PrivateKey | None,
    *,
    signature: bytes | None = None,
) -> str:
    """Sign ``header.payload`` with ``key`` (raw JSON text passes through as is)."""

    def enc(part: dict[str, Any] | str | bytes) -> str:
        if isinstance(part, dict):
            part = json.dumps(part, separators=(",", ":"))
        if isinstance(part, str):
            part = part.encode()
        return b64u(part)

    signing_input = f"{enc(header)}.{enc(payload)}"
    if signature is None:
        signature = key.sign(signing_input.encode()) if key is not None else b""
    return f"{signing_input}.{b64u(signature)}"


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    h, p, _ = token.split(".")
    return json.loads(b64u_decode(h)), json.loads(b64u_decode(p))
