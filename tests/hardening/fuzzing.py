"""Hypothesis strategies shared by the fuzz tests and the atheris harnesses.

Three families of token inputs: anything at all (text, bytes, other types),
*mutations* of a real token (characters flipped, inserted, dropped; segments
cut, swapped, duplicated), and *validly signed* tokens with arbitrary
headers and claims (so the claim checks are fuzzed past the signature).
"""

from __future__ import annotations

import base64
import contextlib
import json
import signal
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

from secure_auth import KeySet

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \x00é"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Fail an example that hangs (SIGALRM: main thread, Unix only)."""

    def expired(signum: int, frame: Any) -> None:
        raise TimeoutError(f"example took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def anything() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.text(max_size=600),
        st.binary(max_size=600),
        st.text(alphabet=ALPHABET, max_size=600),
        st.none(),
        st.integers(),
        st.lists(st.text(max_size=5), max_size=3),
        st.just("a" * 5000),
        st.just(b"\xff" * 10),
    )


@st.composite
def mutated(draw: st.DrawFn, token: str) -> str:
    """A real token, changed a little."""
    text = token
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "cut", "swap", "dup", "pad"]))
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        if kind == "flip":
            text = text[:i] + draw(st.sampled_from(ALPHABET)) + text[i + 1 :]
        elif kind == "insert":
            text = text[:i] + draw(st.text(alphabet=ALPHABET, min_size=1, max_size=4)) + text[i:]
        elif kind == "delete":
            j = draw(st.integers(i, min(len(text), i + 8)))
            text = text[:i] + text[j:]
        elif kind == "cut":
            text = text[:i]
        else:
            parts = text.split(".")
            if kind == "swap" and len(parts) >= 2:
                a, b = draw(st.integers(0, len(parts) - 1)), draw(st.integers(0, len(parts) - 1))
                parts[a], parts[b] = parts[b], parts[a]
            elif kind == "dup":
                parts.insert(draw(st.integers(0, len(parts))), draw(st.sampled_from(parts)))
            elif kind == "pad":
                parts = [p + "=" * draw(st.integers(1, 2)) for p in parts]
            text = ".".join(parts)
    return text


JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from([1_800_000_000, 2**53, -1, 0.5, "1800000000", "secure-auth", "fuzz"]),
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=4,
)


@st.composite
def signed(draw: st.DrawFn, keys: KeySet, typ: str, real_claims: dict[str, Any]) -> str:
    """A token signed with the real key, with a fuzzed header and claims."""
    header: dict[str, Any] = {"alg": "EdDSA", "kid": keys.signing_kid, "typ": typ}
    names = st.sampled_from(["alg", "kid", "typ", "crit", "jwk", "b64"])
    for name in draw(st.lists(names, max_size=3)):
        header[name] = draw(st.one_of(JSON, st.sampled_from(["EdDSA", "Ed25519", typ, "none"])))
    claims = dict(real_claims)
    names = st.sampled_from(["iss", "sub", "sid", "iat", "exp", "nbf", "jti", "aud", "gen"])
    for name in draw(st.lists(names, max_size=4)):
        if draw(st.booleans()):
            claims.pop(name, None)
        else:
            claims[name] = draw(JSON)
    raw_header = json.dumps(header).encode()
    raw_claims = json.dumps(claims).encode()
    if draw(st.booleans()):
        raw_claims = draw(st.sampled_from([b"[]", b"1", b'{"a":1,"a":2}', b"{", b"NaN", b"\xff"]))
    signing_input = f"{b64u(raw_header)}.{b64u(raw_claims)}"
    signature = keys.signing_key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64u(signature)}"
