"""Edwards25519 point checks that no library exposes.

``cryptography`` verifies Ed25519 signatures as RFC 8032 allows, which accepts
public keys of small order (with the identity key, one signature verifies any
message) and keys with a torsion component. A public key that comes from
outside (a JWKS, a key file, a passkey registration) must therefore be checked
here before it is trusted: it must decode canonically to a curve point that
lies in the prime-order subgroup and is not of small order.

This runs once per key load, never per signature, so plain integer arithmetic
is fast enough (about a millisecond).
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["is_safe_public_key"]

_P = 2**255 - 19
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_L = 2**252 + 27742317777372353535851937790883648493
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)

# Extended homogeneous coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, xy = T/Z.
_Point = tuple[int, int, int, int]
_IDENTITY: _Point = (0, 1, 1, 0)


def _decode(encoded: bytes) -> _Point | None:
    """Decode a 32-byte point; ``None`` if it is not a canonical curve point."""
    if len(encoded) != 32:
        return None
    value = int.from_bytes(encoded, "little")
    sign = value >> 255
    y = value & ((1 << 255) - 1)
    if y >= _P:
        return None  # non-canonical y
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    # x = sqrt(u / v), RFC 8032 section 5.1.3
    x = (u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P)) % _P
    vx2 = (v * x * x) % _P
    if vx2 == (-u) % _P:
        x = (x * _SQRT_M1) % _P
    elif vx2 != u:
        return None  # not on the curve
    if x == 0 and sign:
        return None  # non-canonical encoding of x = 0
    if (x & 1) != sign:
        x = _P - x
    return (x, y, 1, (x * y) % _P)


def _add(a: _Point, b: _Point) -> _Point:
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % _P
    bb = (y1 + x1) * (y2 + x2) % _P
    cc = 2 * _D * t1 * t2 % _P
    dd = 2 * z1 * z2 % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _multiply(scalar: int, point: _Point) -> _Point:
    result = _IDENTITY
    addend = point
    while scalar:
        if scalar & 1:
            result = _add(result, addend)
        addend = _add(addend, addend)
        scalar >>= 1
    return result


def _is_identity(point: _Point) -> bool:
    x, y, z, _ = point
    return x % _P == 0 and (y - z) % _P == 0


@lru_cache(maxsize=256)
def is_safe_public_key(encoded: bytes) -> bool:
    """True when ``encoded`` is a canonical point of prime order ``L``.

    Rejects: wrong length, non-canonical encodings, points off the curve,
    the eight small-order points (the identity among them) and mixed-order
    points (a prime-order point plus a torsion component). Results are
    cached: the same key is loaded several times when a service starts.
    """
    point = _decode(encoded)
    if point is None:
        return False
    if _is_identity(_multiply(8, point)):
        return False  # small order
    return _is_identity(_multiply(_L, point))
