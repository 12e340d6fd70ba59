"""Argon2id hashing, the policy, and constant-path logins."""

from __future__ import annotations

import threading
import time

import pytest
from argon2 import PasswordHasher as RawHasher

from conftest import CHEAP
from secure_auth import AuthConfig, InvalidPasswordHash, PasswordPolicyError
from secure_auth.passwords import PasswordHasher, normalize_password


def test_default_parameters_are_rfc9106_low_memory() -> None:
    config = AuthConfig()
    assert (config.argon2_time_cost, config.argon2_memory_cost, config.argon2_parallelism) == (
        3,
        65536,
        4,
    )


def test_hash_is_an_argon2id_phc_string_that_verifies() -> None:
    hasher = PasswordHasher(CHEAP)
    hashed = hasher.hash("s3cret")
    assert hashed.startswith("$argon2id$v=19$m=64,t=1,p=1$")
    assert hasher.verify(hashed, "s3cret") is True
    assert hasher.verify(hashed, "S3cret") is False


def test_nfkc_normalisation_makes_equivalent_passwords_equal() -> None:
    hasher = PasswordHasher(CHEAP)
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    hashed = hasher.hash(composed)
    assert hasher.verify(hashed, hasher.normalize(decomposed))
    assert hasher.verify(hasher.hash("\uff11\uff12\uff13"), hasher.normalize("123"))  # full-width


def test_empty_password_is_a_policy_error() -> None:
    with pytest.raises(PasswordPolicyError, match="must not be empty"):
        normalize_password("")


def test_password_over_the_limit_is_a_policy_error() -> None:
    assert normalize_password("a" * 1024) == "a" * 1024
    with pytest.raises(PasswordPolicyError, match="at most 1024 characters"):
        normalize_password("a" * 1025)


def test_limit_is_configurable() -> None:
    hasher = PasswordHasher(CHEAP.replace(password_max_length=8))
    with pytest.raises(PasswordPolicyError, match="at most 8"):
        hasher.hash("123456789")


@pytest.mark.parametrize("value", [None, 123, b"bytes"])
def test_non_string_password_is_a_policy_error(value: object) -> None:
    with pytest.raises(PasswordPolicyError):
        normalize_password(value)


@pytest.mark.parametrize(
    "stored",
    [
        "plaintext",
        "$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",  # bcrypt
        "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",  # argon2i, not id
        "$argon2id$v=19$garbage",
        None,
        42,
    ],
)
def test_stored_hash_that_is_not_argon2id_is_a_clear_error(stored: object) -> None:
    hasher = PasswordHasher(CHEAP)
    with pytest.raises(InvalidPasswordHash):
        hasher.verify(hasher.check_hash(stored), "pw")


def test_needs_rehash_detects_other_parameters() -> None:
    hasher = PasswordHasher(CHEAP)
    assert hasher.needs_rehash(hasher.hash("pw")) is False
    stronger = PasswordHasher(CHEAP.replace(argon2_time_cost=2))
    assert stronger.needs_rehash(hasher.hash("pw")) is True


class Spy:
    """Wraps argon2-cffi's hasher to observe calls (the hashing stays real)."""

    def __init__(self, inner: RawHasher, before=None) -> None:
        self.inner = inner
        self.before = before or (lambda name, arg: None)

    def hash(self, password: str) -> str:
        self.before("hash", password)
        return self.inner.hash(password)

    def verify(self, hash_: str, password: str) -> bool:
        self.before("verify", hash_)
        return self.inner.verify(hash_, password)

    def check_needs_rehash(self, hash_: str) -> bool:
        return self.inner.check_needs_rehash(hash_)


def test_unknown_user_still_costs_one_verify() -> None:
    hasher = PasswordHasher(CHEAP)
    calls = []
    hasher._hasher = Spy(hasher._hasher, lambda name, arg: calls.append((name, arg)))
    assert hasher.verify(None, "pw") is False
    assert calls == [("verify", hasher._dummy_hash)]


def test_hash_concurrency_is_bounded_across_threads() -> None:
    hasher = PasswordHasher(CHEAP.replace(hash_concurrency=2))
    raw = RawHasher(time_cost=1, memory_cost=64, parallelism=1)
    active = 0
    peak = 0
    lock = threading.Lock()

    class Slow(Spy):
        def hash(self, password: str) -> str:
            nonlocal active, peak
            with lock:
                active += 1
                peak = max(peak, active)
            time.sleep(0.01)
            with lock:
                active -= 1
            return raw.hash(password)

    hasher._hasher = Slow(raw)
    threads = [threading.Thread(target=hasher.hash, args=("pw",)) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 2


def test_lone_surrogate_password_is_a_policy_error_not_a_crash_in_argon2() -> None:
    # "abc\udc80def" cannot be encoded as UTF-8: Argon2 used to raise
    # UnicodeEncodeError (a 500 at the HTTP edge).
    hasher = PasswordHasher(CHEAP)
    stored = hasher.hash("abcdef")
    for password in ("abc\udc80def", "\ud800", "ok\udfff"):
        with pytest.raises(PasswordPolicyError) as caught:
            normalize_password(password)
        assert caught.value.reason == "password is not valid Unicode text"
        with pytest.raises(PasswordPolicyError):
            hasher.hash(password)
    assert hasher.verify(stored, hasher.normalize("abc\U0001f600def")) is False  # pairs are fine


def test_lone_surrogate_password_at_login_is_refused_before_argon2(
    keypair: tuple[bytes, bytes],
) -> None:
    from secure_auth import MemoryStore, SyncAuthService

    service = SyncAuthService(*keypair, MemoryStore(), config=CHEAP)
    user = service.register_user({"id": "u1", "password": "wonderland"})
    with pytest.raises(PasswordPolicyError):
        service.login(user, "wonder\udc80land", ip_address="203.0.113.1")
