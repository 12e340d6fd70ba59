"""Token verification: every attack on the bad-input list, one test each.

Each test forges a token that differs from a valid one in exactly the way
the attack needs, signs it with the *real* key when the attack would need
that (so only the check under test can stop it), and asserts both the
exception class and the reason, so a test cannot pass for the wrong cause.
"""

from __future__ import annotations

import hmac
import json
from hashlib import sha256

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secure_auth import AuthConfig, AuthError, ExpiredToken, InvalidToken, KeySet
from secure_auth.tokens import ACCESS_TYPE, REFRESH_TYPE, TokenCodec
from tokens_util import b64u, b64u_decode, forge, parts

NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def keys(key: Ed25519PrivateKey) -> KeySet:
    return KeySet(key)


@pytest.fixture
def codec(keys: KeySet) -> TokenCodec:
    return TokenCodec(keys, AuthConfig(token_cache_size=0))


def good_claims(**changes: object) -> dict[str, object]:
    claims: dict[str, object] = {
        "iss": "secure-auth",
        "sub": "u1",
        "sid": "s1",
        "iat": int(NOW),
        "exp": int(NOW) + 900,
        "jti": "j1",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not ...}


def good_header(keys: KeySet, **changes: object) -> dict[str, object]:
    header: dict[str, object] = {"alg": "EdDSA", "kid": keys.signing_kid, "typ": ACCESS_TYPE}
    header.update(changes)
    return {k: v for k, v in header.items() if v is not ...}


def rejects(codec: TokenCodec, token: object, reason: str, *, typ: str = ACCESS_TYPE) -> None:
    with pytest.raises(InvalidToken) as info:
        codec.decode(token, typ=typ, now=NOW)
    assert reason in info.value.reason


def test_well_formed_token_is_accepted(codec: TokenCodec, keys: KeySet, key) -> None:
    claims = codec.decode(forge(good_header(keys), good_claims(), key), typ=ACCESS_TYPE, now=NOW)
    assert (claims.user_id, claims.session_id) == ("u1", "s1")


def test_codec_round_trip(codec: TokenCodec) -> None:
    token = codec.encode(typ=ACCESS_TYPE, user_id="u", session_id="s", now=NOW, expires_at=NOW + 60)
    header, payload = parts(token)
    assert header == {"alg": "EdDSA", "kid": codec.keys.signing_kid, "typ": "at+jwt"}
    assert set(payload) == {"iss", "sub", "sid", "iat", "exp", "jti"}
    assert codec.decode(token, typ=ACCESS_TYPE, now=NOW).expires_at == NOW + 60


def test_ed25519_algorithm_name_by_configuration(keys: KeySet) -> None:
    codec = TokenCodec(keys, AuthConfig(algorithm="Ed25519"))
    token = codec.encode(typ=ACCESS_TYPE, user_id="u", session_id="s", now=NOW, expires_at=NOW + 60)
    assert parts(token)[0]["alg"] == "Ed25519"
    assert codec.decode(token, typ=ACCESS_TYPE, now=NOW).user_id == "u"


# -- alg ---------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_in_any_case_is_rejected(codec, keys, alg) -> None:
    token = forge(good_header(keys, alg=alg), good_claims(), None)
    rejects(codec, token, "unacceptable 'alg'")


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_hmac_with_the_public_key_as_secret_is_rejected(codec, keys, key, alg) -> None:
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64u(json.dumps(good_header(keys, alg=alg)).encode())
    payload = b64u(json.dumps(good_claims()).encode())
    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), sha256).digest()
    rejects(codec, f"{header}.{payload}.{b64u(mac)}", "unacceptable 'alg'")


@pytest.mark.parametrize("alg", ["RS256", "ES256", "PS256", "ES512", "EdDSA ", "eddsa", "Ed448"])
def test_other_algorithms_are_rejected(codec, keys, key, alg) -> None:
    rejects(codec, forge(good_header(keys, alg=alg), good_claims(), key), "unacceptable 'alg'")


def test_missing_alg_is_rejected(codec, keys, key) -> None:
    rejects(codec, forge(good_header(keys, alg=...), good_claims(), key), "unacceptable 'alg'")


def test_non_string_alg_is_rejected(codec, keys, key) -> None:
    rejects(codec, forge(good_header(keys, alg=["EdDSA"]), good_claims(), key), "'alg'")


# -- kid, crit, embedded keys --------------------------------------------------


def test_unknown_kid_is_rejected(codec, keys, key) -> None:
    rejects(
        codec, forge(good_header(keys, kid="someone-else"), good_claims(), key), "unknown 'kid'"
    )


def test_missing_kid_is_rejected(codec, keys, key) -> None:
    rejects(codec, forge(good_header(keys, kid=...), good_claims(), key), "unknown 'kid'")


def test_crit_header_is_rejected(codec, keys, key) -> None:
    token = forge(good_header(keys, crit=["exp"], exp=1), good_claims(), key)
    rejects(codec, token, "'crit'")


def test_embedded_jwk_is_never_used_as_the_key(codec, keys) -> None:
    attacker = Ed25519PrivateKey.generate()
    x = attacker.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64u(x)}
    # With our kid the attacker's signature fails against our key...
    token = forge(good_header(keys, jwk=jwk), good_claims(), attacker)
    rejects(codec, token, "bad signature")
    # ...and with the attacker's own kid there is no such key.
    token = forge(
        good_header(keys, jwk=jwk, kid=KeySet(attacker).signing_kid), good_claims(), attacker
    )
    rejects(codec, token, "unknown 'kid'")


@pytest.mark.parametrize("param", ["jku", "x5u", "x5c"])
def test_key_urls_and_certificates_in_header_are_ignored(codec, keys, param) -> None:
    attacker = Ed25519PrivateKey.generate()
    token = forge(
        good_header(keys, **{param: "https://attacker.example/keys"}), good_claims(), attacker
    )
    rejects(codec, token, "bad signature")


def test_token_signed_by_another_key_is_rejected(codec, keys) -> None:
    rejects(
        codec,
        forge(good_header(keys), good_claims(), Ed25519PrivateKey.generate()),
        "bad signature",
    )


# -- size and encoding ---------------------------------------------------------


def test_oversize_token_is_rejected_before_parsing(codec) -> None:
    # Not even valid base64: only the size check can be what rejects it.
    rejects(codec, "!" * 5000, "token too large")
    rejects(codec, b"!" * 5000, "token too large")


def test_padded_base64_is_rejected(codec, keys, key) -> None:
    token = forge(good_header(keys), good_claims(), key)
    h, p, s = token.split(".")
    padded_header = h + "=" * (-len(h) % 4 or 4)
    rejects(codec, f"{padded_header}.{p}.{s}", "malformed base64url")


def test_standard_base64_alphabet_is_rejected(codec, keys, key) -> None:
    # Find a token whose signature uses '-' or '_' and switch to '+' '/'.
    for i in range(200):
        token = forge(good_header(keys), good_claims(jti=f"j{i}"), key)
        h, p, s = token.split(".")
        if "-" in s or "_" in s:
            break
    std = s.replace("-", "+").replace("_", "/")
    rejects(codec, f"{h}.{p}.{std}", "malformed base64url")


def test_non_canonical_signature_encoding_is_rejected(codec, keys, key) -> None:
    token = forge(good_header(keys), good_claims(), key)
    h, p, s = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # 64 bytes -> 86 chars; the last char carries 4 unused bits.
    last = alphabet.index(s[-1])
    tweaked = s[:-1] + alphabet[last ^ 1]
    assert b64u_decode(tweaked) == b64u_decode(s)  # same bytes, different string
    rejects(codec, f"{h}.{p}.{tweaked}", "non-canonical")


@pytest.mark.parametrize("token", ["", ".", "..", "a.b", "a.b.c.d", "a..c", "abc"])
def test_malformed_shapes_are_rejected(codec, token) -> None:
    with pytest.raises(InvalidToken):
        codec.decode(token, typ=ACCESS_TYPE, now=NOW)


@pytest.mark.parametrize("payload", ["[1,2]", '"text"', "42", "null", "true"])
def test_non_object_json_payload_is_rejected(codec, keys, key, payload) -> None:
    rejects(codec, forge(good_header(keys), payload, key), "not a JSON object")


def test_non_object_json_header_is_rejected(codec, key) -> None:
    rejects(codec, forge("[1]", good_claims(), key), "not a JSON object")


def test_invalid_json_is_rejected(codec, keys, key) -> None:
    rejects(codec, forge(good_header(keys), '{"sub": "u1",', key), "not valid JSON")


def test_non_utf8_payload_is_rejected(codec, keys, key) -> None:
    rejects(codec, forge(good_header(keys), b'{"sub": "\xff"}', key), "not valid JSON")


def test_nan_constant_is_rejected(codec, keys, key) -> None:
    payload = json.dumps(good_claims()).replace(f'"exp": {int(NOW) + 900}', '"exp": NaN')
    rejects(codec, forge(good_header(keys), payload, key), "NaN")


def test_duplicate_claim_keys_are_rejected(codec, keys, key) -> None:
    # A parser keeping the first 'sub' and one keeping the last disagree: refuse both.
    body = json.dumps(good_claims())[:-1] + ', "sub": "admin"}'
    rejects(codec, forge(good_header(keys), body, key), "duplicate JSON key")


def test_duplicate_header_keys_are_rejected(codec, keys, key) -> None:
    header = json.dumps(good_header(keys))[:-1] + ', "alg": "none"}'
    rejects(codec, forge(header, good_claims(), key), "duplicate JSON key")


def test_non_ascii_bytes_token_is_rejected(codec) -> None:
    rejects(codec, "ü.ü.ü".encode(), "not ASCII")


@pytest.mark.parametrize("value", [None, 12, 1.5, ["a.b.c"], {"t": 1}])
def test_non_string_token_is_rejected(codec, value) -> None:
    rejects(codec, value, "not a string")


# -- time claims -----------------------------------------------------------------


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", ["1800000900", True, [1], {"a": 1}, 1e308, -1, 10**20])
def test_time_claims_of_wrong_type_or_absurd_size_are_rejected(
    codec, keys, key, claim, value
) -> None:
    rejects(codec, forge(good_header(keys), good_claims(**{claim: value}), key), f"'{claim}' claim")


def test_huge_integer_literal_is_rejected(codec, keys, key) -> None:
    payload = json.dumps(good_claims()).replace(str(int(NOW) + 900), "9" * 1000)
    rejects(codec, forge(good_header(keys), payload, key), "'exp' claim")


def test_missing_exp_is_rejected(codec, keys, key) -> None:
    rejects(codec, forge(good_header(keys), good_claims(exp=...), key), "'exp'")


def test_expired_token_is_rejected(codec, keys, key) -> None:
    token = forge(good_header(keys), good_claims(exp=int(NOW)), key)
    with pytest.raises(ExpiredToken):
        codec.decode(token, typ=ACCESS_TYPE, now=NOW)


def test_not_yet_valid_token_is_rejected(codec, keys, key) -> None:
    rejects(codec, forge(good_header(keys), good_claims(nbf=int(NOW) + 60), key), "'nbf'")


def test_token_issued_in_the_future_is_rejected(codec, keys, key) -> None:
    rejects(codec, forge(good_header(keys), good_claims(iat=int(NOW) + 60), key), "'iat'")


def test_leeway_tolerates_small_clock_skew(keys, key) -> None:
    codec = TokenCodec(keys, AuthConfig(leeway=30, token_cache_size=0))
    token = forge(good_header(keys), good_claims(exp=int(NOW) - 10, iat=int(NOW) + 10), key)
    assert codec.decode(token, typ=ACCESS_TYPE, now=NOW).user_id == "u1"


# -- typ confusion -----------------------------------------------------------------


def test_refresh_token_is_not_accepted_as_access_token(codec) -> None:
    token = codec.encode(
        typ=REFRESH_TYPE,
        user_id="u",
        session_id="s",
        now=NOW,
        expires_at=NOW + 60,
        extra={"gen": 0},
    )
    rejects(codec, token, "wrong token type", typ=ACCESS_TYPE)


def test_access_token_is_not_accepted_as_refresh_token(codec) -> None:
    token = codec.encode(typ=ACCESS_TYPE, user_id="u", session_id="s", now=NOW, expires_at=NOW + 60)
    rejects(codec, token, "wrong token type", typ=REFRESH_TYPE)


def test_typ_confusion_is_caught_even_from_the_cache(keys) -> None:
    codec = TokenCodec(keys, AuthConfig())
    token = codec.encode(typ=ACCESS_TYPE, user_id="u", session_id="s", now=NOW, expires_at=NOW + 60)
    codec.decode(token, typ=ACCESS_TYPE, now=NOW)  # now cached
    rejects(codec, token, "wrong token type", typ=REFRESH_TYPE)


@pytest.mark.parametrize("typ", [None, "JWT", "at+JWT", "rt+jwt"])
def test_missing_or_foreign_typ_is_rejected(codec, keys, key, typ) -> None:
    header = good_header(keys, typ=typ) if typ else good_header(keys, typ=...)
    rejects(codec, forge(header, good_claims(), key), "wrong token type")


def test_refresh_token_needs_an_integer_generation(codec, keys, key) -> None:
    header = good_header(keys, typ=REFRESH_TYPE)
    for gen in [..., "0", -1, 1.0, True]:
        rejects(codec, forge(header, good_claims(gen=gen), key), "'gen'", typ=REFRESH_TYPE)


# -- iss, aud, ids ---------------------------------------------------------------------


def test_wrong_issuer_is_rejected(codec, keys, key) -> None:
    rejects(codec, forge(good_header(keys), good_claims(iss="evil"), key), "wrong 'iss'")


def test_wrong_audience_is_rejected(keys, key) -> None:
    codec = TokenCodec(keys, AuthConfig(audience="api", token_cache_size=0))
    rejects(codec, forge(good_header(keys), good_claims(aud="other"), key), "wrong 'aud'")
    rejects(codec, forge(good_header(keys), good_claims(), key), "wrong 'aud'")
    ok = forge(good_header(keys), good_claims(aud=["x", "api"]), key)
    assert codec.decode(ok, typ=ACCESS_TYPE, now=NOW).audience == ["x", "api"]


def test_unexpected_audience_is_rejected(codec, keys, key) -> None:
    rejects(codec, forge(good_header(keys), good_claims(aud="api"), key), "unexpected 'aud'")


@pytest.mark.parametrize("claim", ["sub", "sid", "jti"])
@pytest.mark.parametrize("value", [..., "", 42, None, ["u1"]])
def test_missing_or_malformed_ids_are_rejected(codec, keys, key, claim, value) -> None:
    rejects(codec, forge(good_header(keys), good_claims(**{claim: value}), key), f"'{claim}'")


# -- cache ---------------------------------------------------------------------------------


def test_cached_token_still_expires(keys) -> None:
    codec = TokenCodec(keys, AuthConfig())
    token = codec.encode(typ=ACCESS_TYPE, user_id="u", session_id="s", now=NOW, expires_at=NOW + 60)
    codec.decode(token, typ=ACCESS_TYPE, now=NOW)
    with pytest.raises(ExpiredToken):
        codec.decode(token, typ=ACCESS_TYPE, now=NOW + 61)


def test_cache_is_bounded(keys) -> None:
    codec = TokenCodec(keys, AuthConfig(token_cache_size=8))
    for i in range(50):
        t = codec.encode(
            typ=ACCESS_TYPE, user_id=f"u{i}", session_id="s", now=NOW, expires_at=NOW + 60
        )
        codec.decode(t, typ=ACCESS_TYPE, now=NOW)
    assert len(codec._cache) == 8


def test_key_rotation_clears_the_cache_and_drops_old_tokens(keys) -> None:
    codec = TokenCodec(keys, AuthConfig())
    token = codec.encode(typ=ACCESS_TYPE, user_id="u", session_id="s", now=NOW, expires_at=NOW + 60)
    codec.decode(token, typ=ACCESS_TYPE, now=NOW)
    codec.set_keys(KeySet(Ed25519PrivateKey.generate()))
    assert len(codec._cache) == 0
    rejects(codec, token, "unknown 'kid'")


def test_rotation_keeps_old_tokens_valid_while_the_old_key_is_listed(keys, key) -> None:
    codec = TokenCodec(keys, AuthConfig())
    old = codec.encode(typ=ACCESS_TYPE, user_id="u", session_id="s", now=NOW, expires_at=NOW + 60)
    codec.set_keys(KeySet(Ed25519PrivateKey.generate(), [key.public_key()]))
    assert codec.decode(old, typ=ACCESS_TYPE, now=NOW).user_id == "u"
    new = codec.encode(typ=ACCESS_TYPE, user_id="u", session_id="s", now=NOW, expires_at=NOW + 60)
    assert parts(new)[0]["kid"] != parts(old)[0]["kid"]


# -- property: mutations never validate ------------------------------------------------------

_PROPERTY_CODEC: list[TokenCodec] = []


def _property_codec() -> tuple[TokenCodec, str]:
    if not _PROPERTY_CODEC:
        _PROPERTY_CODEC.append(TokenCodec(KeySet(Ed25519PrivateKey.generate()), AuthConfig()))
    codec = _PROPERTY_CODEC[0]
    token = codec.encode(
        typ=ACCESS_TYPE, user_id="u1", session_id="s1", now=NOW, expires_at=NOW + 900
    )
    return codec, token


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    kind=st.sampled_from(["flip", "insert", "delete", "truncate", "swap_segments"]),
)
def test_random_mutations_never_validate_and_raise_only_auth_errors(data, kind) -> None:
    codec, token = _property_codec()
    chars = list(token)
    if kind == "flip":
        i = data.draw(st.integers(0, len(chars) - 1))
        new = data.draw(st.characters(codec="ascii").filter(lambda c: c != chars[i]))
        chars[i] = new
    elif kind == "insert":
        i = data.draw(st.integers(0, len(chars)))
        chars.insert(i, data.draw(st.characters()))
    elif kind == "delete":
        del chars[data.draw(st.integers(0, len(chars) - 1))]
    elif kind == "truncate":
        chars = chars[: data.draw(st.integers(0, len(chars) - 1))]
    else:
        h, p, s = token.split(".")
        chars = list(".".join(data.draw(st.permutations([h, p, s])).__iter__()))
        if "".join(chars) == token:
            return
    mutated = "".join(chars)
    as_bytes = data.draw(st.booleans())
    try:
        codec.decode(mutated.encode("utf-8") if as_bytes else mutated, typ=ACCESS_TYPE, now=NOW)
    except AuthError:
        return
    pytest.fail(f"mutated token validated: {kind}")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=600), st.binary(max_size=600)))
def test_arbitrary_input_raises_only_auth_errors(value) -> None:
    codec, _ = _property_codec()
    with pytest.raises(AuthError):
        codec.decode(value, typ=ACCESS_TYPE, now=NOW)
