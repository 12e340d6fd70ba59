"""Argon2id password hashing with argon2-cffi, and the password policy.

Passwords are NFKC-normalised first, so the same password typed on two
keyboards (composed vs. decomposed accents, full-width digits) hashes alike.
Every Argon2 computation, hash or verify, passes one bounded semaphore, so
memory stays bounded however many logins arrive at once (async and sync).
"""

from __future__ import annotations

import threading
import unicodedata

from argon2 import PasswordHasher as _Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .config import AuthConfig
from .errors import InvalidPasswordHash, PasswordPolicyError

__all__ = ["PasswordHasher", "normalize_password"]

_PHC_PREFIX = "$argon2id$"


def normalize_password(password: object, *, max_length: int = 1024) -> str:
    """NFKC-normalise and check the policy.

    Raises:
        PasswordPolicyError: not a string (or one with a lone surrogate, which
            is not text), empty, or longer than ``max_length``.
    """
    if not isinstance(password, str):
        raise PasswordPolicyError(
            "password is not a string", public_message="The password must be text."
        )
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate ("\udc80", from a JSON escape): not text, and
        # Argon2 (which hashes the UTF-8 bytes) could not take it.
        raise PasswordPolicyError(
            "password is not valid Unicode text", public_message="The password must be text."
        ) from None
    normalized = unicodedata.normalize("NFKC", password)
    if not normalized:
        raise PasswordPolicyError(
            "empty password", public_message="The password must not be empty."
        )
    if len(normalized) > max_length:
        raise PasswordPolicyError(
            "password too long",
            public_message=f"The password must be at most {max_length} characters long.",
        )
    return normalized


class PasswordHasher:
    """Argon2id with configured parameters and bounded concurrency.

    ``verify`` returns ``True`` or ``False``; a stored hash that is not an
    Argon2id PHC string raises :class:`InvalidPasswordHash` (a data problem,
    not a failed login).
    """

    def __init__(self, config: AuthConfig) -> None:
        self._max_length = config.password_max_length
        self._hasher = _Argon2Hasher(
            time_cost=config.argon2_time_cost,
            memory_cost=config.argon2_memory_cost,
            parallelism=config.argon2_parallelism,
            hash_len=config.argon2_hash_len,
            salt_len=config.argon2_salt_len,
            type=Type.ID,
        )
        self._slots = threading.BoundedSemaphore(config.effective_hash_concurrency)
        # Unknown users are verified against this, so they cost one verify too.
        self._dummy_hash = self._hasher.hash("secure-auth dummy password")

    def normalize(self, password: object) -> str:
        return normalize_password(password, max_length=self._max_length)

    def hash(self, password: object) -> str:
        """Hash a new password (policy checked first).

        Raises:
            PasswordPolicyError: the password breaks the policy.
        """
        normalized = self.normalize(password)
        with self._slots:
            return self._hasher.hash(normalized)

    def check_hash(self, stored: object) -> str:
        """The stored hash if it is an Argon2id PHC string.

        Raises:
            InvalidPasswordHash: anything else (bcrypt, plain text, None...).
        """
        if not isinstance(stored, str) or not stored.startswith(_PHC_PREFIX):
            raise InvalidPasswordHash("stored hash is not an Argon2id PHC string")
        return stored

    def verify(self, stored: str | None, password: str) -> bool:
        """Constant-work verify; ``stored=None`` verifies against a dummy hash.

        ``password`` must already be normalised. Returns ``False`` for a wrong
        password and always for ``stored=None``.

        Raises:
            InvalidPasswordHash: ``stored`` is malformed.
        """
        target = self._dummy_hash if stored is None else self.check_hash(stored)
        try:
            with self._slots:
                self._hasher.verify(target, password)
        except VerifyMismatchError:
            return False
        except (InvalidHashError, VerificationError):
            # Not a mismatch: the PHC string itself is broken (a data problem).
            raise InvalidPasswordHash("stored hash cannot be parsed") from None
        return stored is not None

    def needs_rehash(self, stored: str) -> bool:
        """True when ``stored`` was made with other parameters than ours."""
        try:
            return self._hasher.check_needs_rehash(stored)
        except (InvalidHashError, ValueError):
            return True
