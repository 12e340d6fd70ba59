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

Speed (issue 7, BENCHMARKS.md). The header segment is the same for every
token one key signs, so the verdict on it (``alg``, ``crit``, ``kid`` -> key)
is memoised per exact header string once a signature made under it verified;
``typ`` is still compared every time. The payload and the signature are
parsed for every token not in the verified-token cache; for a cached token
only the clock checks run again (the other claim checks cannot change).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections import OrderedDict
from collections.abc import Callable, Mapping
from threading import Lock
from types import MappingProxyType
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

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
_URLSAFE_TO_STD: Final = bytes.maketrans(b"-_", b"+/")
_PADDING: Final = (b"", b"", b"==", b"=")  # by length % 4 (1 is never valid)
_SIGNATURE_B64_LEN: Final = 86  # 64 bytes, unpadded
# 64 bytes in 86 characters leave 4 unused low bits in the last one; only
# these four characters set them to zero, i.e. are the canonical encoding.
_SIGNATURE_LAST_CHARS: Final = frozenset("AQgw")
# Distinct accepted header segments remembered (a few per key in practice).
_HEADER_MEMO_SIZE: Final = 32


def _b64u_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64u_decode(segment: str) -> bytes:
    """Strict base64url: alphabet only, no padding."""
    # The standard decoder in strict mode refuses every character outside its
    # alphabet, once "-_" are mapped to "+/". So the three characters that
    # mapping would let through ("+", "/" and the padding "=") are refused
    # first. (Same verdicts as a regex check, at half the cost.)
    if len(segment) % 4 == 1 or "+" in segment or "/" in segment or "=" in segment:
        raise InvalidToken("malformed base64url")
    try:
        return binascii.a2b_base64(
            segment.encode("ascii").translate(_URLSAFE_TO_STD) + _PADDING[len(segment) % 4],
            strict_mode=True,
        )
    except (binascii.Error, ValueError):
        raise InvalidToken("malformed base64url") from None


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


_SCAN_ONCE: Final[Callable[[str, int], tuple[Any, int]]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        text = data.decode("utf-8")
        # The C scanner alone parses a document with no surrounding blanks
        # (every token we sign); ``decode`` handles the rest and the errors.
        try:
            value, end = _SCAN_ONCE(text, 0)
        except StopIteration:
            end = -1
        if end != len(text):
            value = _DECODER.decode(text)
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


# What the cache keeps per token: its ``typ``, the claims that passed every
# check that does not involve the clock, and ``nbf`` (not part of TokenClaims).
_Verdict = tuple[str, TokenClaims, float | None]


class _VerifiedCache:
    """Bounded LRU of token -> verdict of a verified token.

    Keyed by the exact token string, so a different string (one changed byte)
    is a miss and goes through full verification. An entry holds what can no
    longer change once the signature verified: the payload is immutable and
    so is the codec's config, so the clock-free claim checks (types, ``iss``,
    ``aud``, ids) give the same answer every time and are kept with it. The
    clock checks (``exp``, ``nbf``, ``iat``) run on every use, and the
    service still reads the session every time, so revocation stays instant.
    """

    __slots__ = ("_data", "_lock", "_max")

    def __init__(self, max_entries: int) -> None:
        self._max = max_entries
        self._data: OrderedDict[str, _Verdict] = OrderedDict()
        self._lock = Lock()

    def get(self, token: str) -> _Verdict | None:
        entry = self._data.get(token)
        if entry is not None:
            # Not contextlib.suppress: that costs a context manager per hit.
            try:  # noqa: SIM105
                self._data.move_to_end(token)
            except KeyError:  # evicted by another thread meanwhile
                pass
        return entry

    def put(self, token: str, verdict: _Verdict) -> None:
        with self._lock:
            self._data[token] = verdict
            if len(self._data) > self._max:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class TokenCodec:
    """Signs and verifies the library's JWTs against one :class:`KeySet`."""

    __slots__ = ("_cache", "_config", "_header_cache", "_keys", "_verified_headers")

    def __init__(self, keys: KeySet, config: AuthConfig) -> None:
        self._config = config
        self._keys = keys
        self._cache = _VerifiedCache(config.token_cache_size) if config.token_cache_size else None
        self._header_cache: dict[str, str] = {}
        # header segment -> (its ``typ``, the key its ``kid`` names), for
        # headers that passed every header check and signed a valid token.
        self._verified_headers: dict[str, tuple[str, Ed25519PublicKey]] = {}

    @property
    def keys(self) -> KeySet:
        return self._keys

    def set_keys(self, keys: KeySet) -> None:
        """Switch key sets (rotation); the verified-signature cache is cleared."""
        self._keys = keys
        self._header_cache.clear()
        self._verified_headers.clear()
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
        if type(token) is not str:  # the common case skips these checks
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
        if not token.isascii():
            raise InvalidToken("token is not ASCII")
        cache = self._cache
        verdict = cache.get(token) if cache is not None else None
        if verdict is None:
            payload = MappingProxyType(self._verify_signature(token, typ))
            claims, nbf = self._check_static_claims(payload, typ)
            verdict = (typ, claims, nbf)
            if cache is not None:
                cache.put(token, verdict)
        elif verdict[0] != typ:
            raise InvalidToken(f"wrong token type {verdict[0]!r}")
        return self._check_clock(verdict[1], verdict[2], now)

    def _verify_signature(self, token: str, typ: str) -> dict[str, Any]:
        if token.count(".") != 2:
            raise InvalidToken("not a compact JWS")
        # The signing input is everything before the last dot.
        signing_input, _, signature_b64 = token.rpartition(".")
        header_b64, _, payload_b64 = signing_input.partition(".")
        known = self._verified_headers.get(header_b64)
        if known is None:
            key = self._check_header(header_b64, typ)
        else:
            known_typ, key = known
            if known_typ != typ:  # what _check_header would say
                raise InvalidToken(f"wrong token type {known_typ!r}")
        if len(signature_b64) != _SIGNATURE_B64_LEN:
            raise InvalidToken("signature has the wrong length")
        signature = _b64u_decode(signature_b64)
        if signature_b64[-1] not in _SIGNATURE_LAST_CHARS:
            raise InvalidToken("non-canonical signature encoding")
        try:
            key.verify(signature, signing_input.encode("ascii"))
        except InvalidSignature:
            raise InvalidToken("bad signature") from None
        if known is None and len(self._verified_headers) < _HEADER_MEMO_SIZE:
            # Only after a valid signature: nobody without the key can fill it.
            self._verified_headers[header_b64] = (typ, key)
        return _json_object(_b64u_decode(payload_b64), "payload")

    def _check_header(self, header_b64: str, typ: str) -> Ed25519PublicKey:
        """Every header check, in order; returns the key ``kid`` names."""
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
        return key

    def _check_static_claims(
        self, claims: Mapping[str, Any], typ: str
    ) -> tuple[TokenClaims, float | None]:
        """Every claim check that does not read the clock; returns ``nbf`` too."""
        config = self._config
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
        claims_obj = TokenClaims(
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
        return claims_obj, nbf

    def _check_clock(self, claims: TokenClaims, nbf: float | None, now: float) -> TokenClaims:
        """The checks against the clock: on every use, cached token or not."""
        leeway = self._config.leeway
        if claims.expires_at <= now - leeway:
            raise ExpiredToken("token expired")
        if nbf is not None and nbf > now + leeway:
            raise InvalidToken("token not yet valid ('nbf')")
        if claims.issued_at > now + leeway:
            raise InvalidToken("token issued in the future ('iat')")
        return claims
