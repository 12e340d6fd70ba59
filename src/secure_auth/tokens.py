"""Compact JWS / JWT with Ed25519, written to be strict and fast.

Why by hand: PyJWT and joserfc cost about 20% more than the raw Ed25519
verify they wrap (see BENCHMARKS.md), and leave to the caller most of the
checks below. Everything here is pure: no I/O, the clock is passed in.

Verification order (cheapest rejection first, nothing parsed before the size
limit): size -> shape -> verified-signature cache -> strict base64url ->
header JSON (object, no duplicate keys) -> ``alg`` in {EdDSA, Ed25519} ->
no ``crit`` -> ``typ`` -> ``kid`` known -> signature -> payload JSON ->
claims (types, clock, ``iss``, ``aud``, ids). Embedded keys (``jwk``,
``jku``, ``x5u``, ``x5c``) are never read: the key comes from ``kid`` only.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from threading import Lock
from types import MappingProxyType
from typing import Any, Final

from cryptography.exceptions import InvalidSignature

from .config import AuthConfig
from .errors import ExpiredToken, InvalidToken
from .keys import KeySet
from .models import TokenClaims

__all__ = ["ACCESS_TYPE", "REFRESH_TYPE", "TokenCodec"]

ACCESS_TYPE: Final = "at+jwt"
REFRESH_TYPE: Final = "rt+jwt"
_ALGORITHMS: Final = frozenset({"EdDSA", "Ed25519"})
# A NumericDate beyond year 9999 is absurd; so is anything before 1970.
_MAX_TIME: Final = 253402300799
_B64U: Final = re.compile(r"[A-Za-z0-9_-]*")
_SIGNATURE_B64_LEN: Final = 86  # 64 bytes, unpadded


def _b64u_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64u_decode(segment: str) -> bytes:
    """Strict base64url: alphabet only, no padding, canonical trailing bits."""
    if len(segment) % 4 == 1 or not _B64U.fullmatch(segment):
        raise InvalidToken("malformed base64url")
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("malformed base64url") from None
    return data


def _reject_constant(name: str) -> Any:
    raise InvalidToken(f"JSON constant {name} is not allowed")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise InvalidToken("duplicate JSON key")
    return obj


_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_unique_object, parse_constant=_reject_constant
)


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = _DECODER.decode(data.decode("utf-8"))
    except InvalidToken:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidToken(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise InvalidToken(f"{what} is not a JSON object")
    return value


def _numeric_date(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required or name in claims:
            raise InvalidToken(f"missing or null '{name}' claim")
        return None
    if type(value) not in (int, float) or not 0 <= value <= _MAX_TIME:
        raise InvalidToken(f"'{name}' claim is not a sane NumericDate")
    return float(value)


def _string_claim(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    if type(value) is not str or not value or len(value) > 512:
        raise InvalidToken(f"missing or malformed '{name}' claim")
    return value


class _VerifiedCache:
    """Bounded LRU of token -> verified payload (signature already checked).

    Keyed by the exact token string, so a different string (one changed byte)
    is a miss and goes through full verification. Only the signature work is
    saved: claims are checked against the clock on every use.
    """

    __slots__ = ("_data", "_lock", "_max")

    def __init__(self, max_entries: int) -> None:
        self._max = max_entries
        self._data: OrderedDict[str, tuple[str, Mapping[str, Any]]] = OrderedDict()
        self._lock = Lock()

    def get(self, token: str) -> tuple[str, Mapping[str, Any]] | None:
        entry = self._data.get(token)
        if entry is not None:
            with contextlib.suppress(KeyError):  # evicted by another thread meanwhile
                self._data.move_to_end(token)
        return entry

    def put(self, token: str, typ: str, payload: Mapping[str, Any]) -> None:
        with self._lock:
            self._data[token] = (typ, payload)
            if len(self._data) > self._max:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class TokenCodec:
    """Signs and verifies the library's JWTs against one :class:`KeySet`."""

    __slots__ = ("_cache", "_config", "_header_cache", "_keys")

    def __init__(self, keys: KeySet, config: AuthConfig) -> None:
        self._config = config
        self._keys = keys
        self._cache = _VerifiedCache(config.token_cache_size) if config.token_cache_size else None
        self._header_cache: dict[str, str] = {}

    @property
    def keys(self) -> KeySet:
        return self._keys

    def set_keys(self, keys: KeySet) -> None:
        """Switch key sets (rotation); the verified-signature cache is cleared."""
        self._keys = keys
        self._header_cache.clear()
        if self._cache is not None:
            self._cache.clear()

    # -- signing -------------------------------------------------------------

    def _header(self, typ: str) -> str:
        header = self._header_cache.get(typ)
        if header is None:
            kid = self._keys.signing_kid
            header = _b64u_encode(
                json.dumps(
                    {"alg": self._config.algorithm, "kid": kid, "typ": typ},
                    separators=(",", ":"),
                ).encode()
            )
            self._header_cache[typ] = header
        return header

    def encode(
        self,
        *,
        typ: str,
        user_id: str,
        session_id: str,
        now: float,
        expires_at: float,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """Sign a token of type ``typ`` for one session."""
        claims: dict[str, Any] = {
            "iss": self._config.issuer,
            "sub": user_id,
            "sid": session_id,
            "iat": int(now),
            "exp": int(expires_at),
            "jti": secrets.token_urlsafe(16),
        }
        if self._config.audience is not None:
            claims["aud"] = self._config.audience
        if extra:
            claims.update(extra)
        payload = _b64u_encode(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{self._header(typ)}.{payload}"
        signature = self._keys.signing_key.sign(signing_input.encode("ascii"))
        return f"{signing_input}.{_b64u_encode(signature)}"

    # -- verification --------------------------------------------------------

    def decode(self, token: object, *, typ: str, now: float) -> TokenClaims:
        """Verify ``token`` as a token of type ``typ`` at time ``now``.

        Raises:
            InvalidToken: anything wrong with shape, signature or claims.
            ExpiredToken: ``exp`` has passed.
        """
        if isinstance(token, bytes | bytearray | memoryview):
            if len(token) > self._config.max_token_bytes:
                raise InvalidToken("token too large")
            try:
                token = bytes(token).decode("ascii")
            except UnicodeDecodeError:
                raise InvalidToken("token is not ASCII") from None
        elif not isinstance(token, str):
            raise InvalidToken("token is not a string")
        if len(token) > self._config.max_token_bytes:
            raise InvalidToken("token too large")
        cached = self._cache.get(token) if self._cache is not None else None
        payload: Mapping[str, Any]
        if cached is not None:
            cached_typ, payload = cached
            if cached_typ != typ:
                raise InvalidToken(f"wrong token type {cached_typ!r}")
        else:
            payload = MappingProxyType(self._verify_signature(token, typ))
            if self._cache is not None:
                self._cache.put(token, typ, payload)
        return self._check_claims(payload, typ, now)

    def _verify_signature(self, token: str, typ: str) -> dict[str, Any]:
        parts = token.split(".")
        if len(parts) != 3:
            raise InvalidToken("not a compact JWS")
        header_b64, payload_b64, signature_b64 = parts
        header = _json_object(_b64u_decode(header_b64), "header")
        alg = header.get("alg")
        if type(alg) is not str or alg not in _ALGORITHMS:
            raise InvalidToken("unacceptable 'alg'")
        if "crit" in header:
            raise InvalidToken("'crit' header is not supported")
        header_typ = header.get("typ")
        if header_typ != typ:
            raise InvalidToken(f"wrong token type {header_typ!r}")
        kid = header.get("kid")
        key = self._keys.get(kid) if type(kid) is str else None
        if key is None:
            raise InvalidToken("unknown 'kid'")
        if len(signature_b64) != _SIGNATURE_B64_LEN:
            raise InvalidToken("signature has the wrong length")
        signature = _b64u_decode(signature_b64)
        if _b64u_encode(signature) != signature_b64:
            raise InvalidToken("non-canonical signature encoding")
        try:
            key.verify(signature, f"{header_b64}.{payload_b64}".encode("ascii"))
        except InvalidSignature:
            raise InvalidToken("bad signature") from None
        return _json_object(_b64u_decode(payload_b64), "payload")

    def _check_claims(self, claims: Mapping[str, Any], typ: str, now: float) -> TokenClaims:
        config = self._config
        leeway = config.leeway
        exp = _numeric_date(claims, "exp", required=True)
        iat = _numeric_date(claims, "iat", required=True)
        nbf = _numeric_date(claims, "nbf", required=False)
        assert exp is not None and iat is not None  # required=True
        if claims.get("iss") != config.issuer:
            raise InvalidToken("wrong 'iss'")
        aud = claims.get("aud")
        if config.audience is None:
            if aud is not None:
                raise InvalidToken("unexpected 'aud'")
        elif not (
            aud == config.audience
            or (type(aud) is list and config.audience in aud and all(type(a) is str for a in aud))
        ):
            raise InvalidToken("wrong 'aud'")
        user_id = _string_claim(claims, "sub")
        session_id = _string_claim(claims, "sid")
        token_id = _string_claim(claims, "jti")
        generation: int | None = None
        if typ == REFRESH_TYPE:
            gen = claims.get("gen")
            if type(gen) is not int or not 0 <= gen < 2**53:
                raise InvalidToken("missing or malformed 'gen' claim")
            generation = gen
        if exp <= now - leeway:
            raise ExpiredToken("token expired")
        if nbf is not None and nbf > now + leeway:
            raise InvalidToken("token not yet valid ('nbf')")
        if iat > now + leeway:
            raise InvalidToken("token issued in the future ('iat')")
        return TokenClaims(
            user_id=user_id,
            session_id=session_id,
            issued_at=iat,
            expires_at=exp,
            token_id=token_id,
            issuer=config.issuer,
            audience=aud,
            refresh_generation=generation,
            raw=claims,
        )
