"""Ed25519 key loading, key sets for rotation, and JWKS export (RFC 8037).

Key material never appears in an error message, a ``repr`` or a log line:
errors say *which* key failed and *why*, never what it contained.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ._ed25519 import is_safe_public_key
from .errors import ConfigurationError

__all__ = [
    "DEFAULT_KEY_DIR",
    "KeySet",
    "PRIVATE_KEY_FILE",
    "PUBLIC_KEY_FILE",
    "generate_keypair",
    "load_private_key",
    "load_public_key",
    "thumbprint",
    "write_keypair",
]

DEFAULT_KEY_DIR = Path(".secure-auth")
PRIVATE_KEY_FILE = "private.pem"
PUBLIC_KEY_FILE = "public.pem"

PrivateKeySource = str | bytes | os.PathLike[str] | Ed25519PrivateKey
PublicKeySource = str | bytes | os.PathLike[str] | Ed25519PublicKey


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _read_source(source: str | bytes | os.PathLike[str], what: str) -> bytes:
    if isinstance(source, os.PathLike):
        try:
            return Path(source).read_bytes()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the {what} file {os.fspath(source)!r}: {exc.strerror}"
            ) from None
    if isinstance(source, str):
        source = source.encode("utf-8")
    if b"-----BEGIN" not in source:
        raise ConfigurationError(
            f"the {what} is not PEM text; pass a pathlib.Path to load it from a file"
        )
    return source


def load_private_key(source: PrivateKeySource) -> Ed25519PrivateKey:
    """Load an Ed25519 private key: PKCS#8 PEM text/bytes, a Path, or a key object.

    Raises:
        ConfigurationError: not readable, not PEM, or not an Ed25519 key.
    """
    if isinstance(source, Ed25519PrivateKey):
        return source
    data = _read_source(source, "private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # The parser's message may quote the input: say only what failed.
        raise ConfigurationError("the private key is not an unencrypted PKCS#8 PEM key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError("the private key is not an Ed25519 key")
    return key


def load_public_key(source: PublicKeySource) -> Ed25519PublicKey:
    """Load an Ed25519 public key: SPKI PEM text/bytes, a Path, or a key object.

    Small-order and mixed-order keys are refused: with them a signature can
    verify without any private key (see ``_ed25519``).

    Raises:
        ConfigurationError: not readable, not PEM, not Ed25519, or unsafe.
    """
    if isinstance(source, Ed25519PublicKey):
        key = source
    else:
        data = _read_source(source, "public key")
        try:
            loaded = serialization.load_pem_public_key(data)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ConfigurationError("the public key is not an SPKI PEM key") from None
        if not isinstance(loaded, Ed25519PublicKey):
            raise ConfigurationError("the public key is not an Ed25519 key")
        key = loaded
    if not is_safe_public_key(_raw_public(key)):
        raise ConfigurationError("the public key is a small-order or mixed-order Ed25519 point")
    return key


def public_key_from_jwk(jwk: Mapping[str, Any]) -> Ed25519PublicKey:
    """An Ed25519 public key from an RFC 8037 OKP JWK (checked like PEM keys)."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(jwk.get("x"), str):
        raise ConfigurationError("the JWK is not an OKP Ed25519 public key")
    if "d" in jwk:
        raise ConfigurationError("the JWK holds a private key; publish public keys only")
    x = jwk["x"]
    try:
        raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
    except ValueError:
        raise ConfigurationError("the JWK 'x' is not base64url") from None
    if len(raw) != 32 or _b64u(raw) != x:
        raise ConfigurationError("the JWK 'x' is not a canonical 32-byte key")
    return load_public_key(Ed25519PublicKey.from_public_bytes(raw))


def thumbprint(key: Ed25519PublicKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url) of an Ed25519 public key."""
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": _b64u(_raw_public(key))},
        separators=(",", ":"),
        sort_keys=True,
    )
    return _b64u(hashlib.sha256(canonical.encode("ascii")).digest())


class KeySet:
    """One signing key plus any number of verification keys, by ``kid``.

    Rotation: sign with the newest key, keep the previous public keys in
    ``verification_keys`` until every token they signed has expired. The
    ``kid`` of each key is its RFC 7638 thumbprint. A ``KeySet`` is
    immutable; rotating means building a new one.
    """

    __slots__ = ("_keys", "_signing_key", "_signing_kid")

    def __init__(
        self,
        signing_key: Ed25519PrivateKey | None,
        verification_keys: Iterable[Ed25519PublicKey] = (),
    ) -> None:
        self._signing_key = signing_key
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._signing_kid: str | None = None
        if signing_key is not None:
            public = load_public_key(signing_key.public_key())
            self._signing_kid = thumbprint(public)
            self._keys[self._signing_kid] = public
        for key in verification_keys:
            checked = load_public_key(key)
            self._keys.setdefault(thumbprint(checked), checked)
        if not self._keys:
            raise ConfigurationError("a KeySet needs a signing key or a verification key")

    @classmethod
    def from_pem(
        cls,
        private_key: PrivateKeySource | None,
        public_key: PublicKeySource | None = None,
        *,
        extra_public_keys: Iterable[PublicKeySource] = (),
    ) -> KeySet:
        """Load a pair (checked to match) plus older public keys for rotation.

        Raises:
            ConfigurationError: unreadable keys, or a pair that does not match.
        """
        signing = load_private_key(private_key) if private_key is not None else None
        publics = [load_public_key(k) for k in extra_public_keys]
        if public_key is not None:
            public = load_public_key(public_key)
            if signing is not None and _raw_public(public) != _raw_public(signing.public_key()):
                raise ConfigurationError("the private key and the public key do not match")
            publics.insert(0, public)
        return cls(signing, publics)

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any]) -> KeySet:
        """Verification-only key set from a JWKS document (other services)."""
        keys = jwks.get("keys")
        if not isinstance(keys, list):
            raise ConfigurationError("the JWKS has no 'keys' list")
        return cls(None, [public_key_from_jwk(k) for k in keys if isinstance(k, Mapping)])

    @classmethod
    def load(cls, directory: str | os.PathLike[str] | None = None) -> KeySet:
        """Load keys as the Node package does.

        ``JWT_PRIVATE_KEY`` / ``JWT_PUBLIC_KEY`` (paths) win; otherwise
        ``private.pem`` / ``public.pem`` in ``directory`` (default
        ``.secure-auth/``).

        Raises:
            ConfigurationError: missing or unreadable files (run
                ``secure-auth keygen``).
        """
        folder = Path(directory) if directory is not None else DEFAULT_KEY_DIR
        private_path = Path(os.environ.get("JWT_PRIVATE_KEY") or folder / PRIVATE_KEY_FILE)
        public_path = Path(os.environ.get("JWT_PUBLIC_KEY") or folder / PUBLIC_KEY_FILE)
        if not private_path.exists():
            raise ConfigurationError(
                f"no private key at {os.fspath(private_path)!r}: run 'secure-auth keygen' "
                "or set JWT_PRIVATE_KEY"
            )
        public = public_path if public_path.exists() else None
        return cls.from_pem(private_path, public)

    @property
    def signing_kid(self) -> str | None:
        return self._signing_kid

    @property
    def signing_key(self) -> Ed25519PrivateKey:
        if self._signing_key is None:
            raise ConfigurationError("this KeySet can only verify: it holds no private key")
        return self._signing_key

    @property
    def can_sign(self) -> bool:
        return self._signing_key is not None

    def get(self, kid: str) -> Ed25519PublicKey | None:
        return self._keys.get(kid)

    def kids(self) -> list[str]:
        return list(self._keys)

    def jwks(self, algorithm: str = "EdDSA") -> dict[str, list[dict[str, str]]]:
        """The public keys as an RFC 8037 JWKS document (safe to publish)."""
        return {
            "keys": [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": _b64u(_raw_public(key)),
                    "kid": kid,
                    "use": "sig",
                    "alg": algorithm,
                }
                for kid, key in self._keys.items()
            ]
        }

    def __repr__(self) -> str:
        return f"KeySet(signing_kid={self._signing_kid!r}, kids={self.kids()!r})"


def generate_keypair() -> tuple[bytes, bytes]:
    """A new Ed25519 pair as (PKCS#8 private PEM, SPKI public PEM)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def write_keypair(directory: str | os.PathLike[str], *, force: bool = False) -> tuple[Path, Path]:
    """Write a new pair into ``directory``: private key 0600, public 0644.

    Raises:
        ConfigurationError: a key file exists and ``force`` is false.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    private_path = folder / PRIVATE_KEY_FILE
    public_path = folder / PUBLIC_KEY_FILE
    if not force and (private_path.exists() or public_path.exists()):
        raise ConfigurationError(
            f"keys already exist in {os.fspath(folder)!r}; use --force to replace them"
        )
    private, public = generate_keypair()
    # Create with 0600 from the start: never a moment where the file is readable.
    if private_path.exists():
        private_path.unlink()
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private)
    public_path.write_bytes(public)
    public_path.chmod(0o644)
    return private_path, public_path
