"""WebAuthn passkeys: options, response parsing and every check. No I/O.

py_webauthn (the ``[passkeys]`` extra) builds the options and verifies
attestations and assertions. This module adds what it leaves to the relying
party, as pure functions the flows in ``_passkey_flows`` sequence with store
calls:

* **Challenges** are 32 random bytes, stored under their base64url form with
  a :class:`ChallengeRecord` (ceremony, user, user handle, UV policy) as the
  value. A response's challenge is read from its ``clientDataJSON`` and
  *popped* (single use) once the response is well-formed and before anything
  is verified, so a response can never be tried twice, whatever the outcome.
* **Structure**: ``id`` must equal the canonical base64url of ``rawId``, every
  binary field must be strict base64url, the whole response is size-limited,
  and at registration the attested credential id must equal ``rawId``.
* **Public keys** are checked at registration (:func:`check_public_key`):
  EC points must lie on their curve, Ed25519 keys must be of prime order
  (small-order and mixed-order keys let forged signatures verify), RSA keys
  must have at least 2048 bits.
* **Policies**: ``crossOrigin: true`` is refused unless configured, user
  verification is enforced when the policy (configured, or chosen for this
  ceremony) says ``"required"``, ``userHandle`` must be the credential's, and
  the signature counter must not go backwards from a non-zero value
  (:func:`check_sign_count`).

Every py_webauthn exception and every malformed input becomes a
:class:`~secure_auth.errors.PasskeyError` subclass. Challenges never appear
in an exception or a log line.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

from ._ed25519 import is_safe_public_key
from .config import AuthConfig
from .errors import (
    ConfigurationError,
    CrossOriginPasskey,
    InvalidPasskeyLabel,
    MalformedPasskeyResponse,
    PasskeyChallengeError,
    PasskeyUserMismatch,
    PasskeyVerificationFailed,
    SignCountRegression,
    UnsafePasskeyKey,
    UserVerificationRequired,
)
from .models import PasskeyCredential

__all__ = [
    "AUTHENTICATION",
    "INSTALL_HINT",
    "MAX_RESPONSE_BYTES",
    "AuthenticatorAttachment",
    "PasskeyResponse",
    "REGISTRATION",
    "SUPPORTED_ALGORITHMS",
    "AssertionResponse",
    "AttestationResponse",
    "ChallengeRecord",
    "PasskeyVerification",
    "authentication_options",
    "challenge_key",
    "check_challenge",
    "check_cross_origin",
    "check_public_key",
    "check_sign_count",
    "clean_label",
    "javascript_path",
    "javascript_source",
    "new_challenge",
    "new_user_handle",
    "parse_authentication_response",
    "parse_registration_response",
    "registration_options",
    "verify_assertion",
    "verify_registration",
]

Ceremony = Literal["registration", "authentication"]
#: What the browser's ``PublicKeyCredential.toJSON()`` gives: JSON text, its
#: bytes (a request body), or the parsed mapping.
PasskeyResponse = str | bytes | Mapping[str, Any]
AuthenticatorAttachment = Literal["platform", "cross-platform"]
REGISTRATION: Final = "registration"
AUTHENTICATION: Final = "authentication"

INSTALL_HINT: Final = "pip install 'secure-auth[passkeys]'"

#: Largest response accepted (JSON text, or the sum of a mapping's fields).
#: An attestation with a certificate chain is a few KiB; this leaves room.
MAX_RESPONSE_BYTES: Final = 64 * 1024
#: WebAuthn caps credential ids at 1023 bytes.
MAX_CREDENTIAL_ID_BYTES: Final = 1023
CHALLENGE_BYTES: Final = 32
USER_HANDLE_BYTES: Final = 32
MAX_LABEL_LENGTH: Final = 64
DEFAULT_LABEL: Final = "Passkey"
MIN_RSA_BITS: Final = 2048

#: COSE algorithms offered and accepted: EdDSA (Ed25519), ES256, RS256.
#: The order is the preference the browser sees.
SUPPORTED_ALGORITHMS: Final = (-8, -7, -257)

_POLICIES = ("required", "preferred", "discouraged")
_ATTESTATIONS = ("none", "direct", "indirect", "enterprise")
_ATTACHMENTS = ("platform", "cross-platform")
_TRANSPORTS = frozenset({"usb", "nfc", "ble", "smart-card", "hybrid", "internal", "cable"})
_B64U = re.compile(r"[A-Za-z0-9_-]*")
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_STRUCTURE_ERRORS = frozenset(
    {
        "InvalidJSONStructure",
        "InvalidCBORData",
        "InvalidAuthenticatorDataStructure",
        "InvalidAttestationObjectStructure",
    }
)


# -- py_webauthn, imported lazily ------------------------------------------------


def _webauthn() -> Any:
    """Import py_webauthn, or say exactly how to install it.

    ``import webauthn`` comes first on purpose: it fails when the package is
    missing even if some of its submodules were imported before.
    """
    try:
        import webauthn
        import webauthn.helpers
        import webauthn.helpers.cose
        import webauthn.helpers.structs
    except ImportError as exc:
        raise ConfigurationError(
            f"passkeys need py_webauthn, which is not installed: run {INSTALL_HINT}"
        ) from exc
    return webauthn


# -- small helpers ---------------------------------------------------------------


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64u_strict(value: object, field: str) -> bytes:
    """Decode canonical unpadded base64url; anything else is malformed."""
    if not isinstance(value, str) or not _B64U.fullmatch(value) or len(value) % 4 == 1:
        raise MalformedPasskeyResponse(f"{field} is not base64url")
    try:
        data = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedPasskeyResponse(f"{field} is not base64url") from exc
    if _b64u(data) != value:
        raise MalformedPasskeyResponse(f"{field} is not canonical base64url")
    return data


def _policy(value: object, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigurationError(f"{name} must be one of {', '.join(allowed)}")
    return str(value)


def new_challenge() -> bytes:
    """32 bytes from ``secrets``: unguessable, and unique in practice."""
    return secrets.token_bytes(CHALLENGE_BYTES)


def challenge_key(challenge: bytes) -> str:
    """The challenge store key of a challenge: its unpadded base64url, the
    very text ``clientDataJSON.challenge`` carries back."""
    return _b64u(challenge)


def new_user_handle() -> str:
    """A fresh WebAuthn user handle (base64url of 32 random bytes).

    Random per user and never the application's user id, so an authenticator
    never learns (or leaks) who the user is in the application's database.
    """
    return _b64u(secrets.token_bytes(USER_HANDLE_BYTES))


def clean_label(label: object) -> str:
    """NFKC-normalise and strip a user-chosen passkey name, then check it.

    Raises:
        InvalidPasskeyLabel: not a string, empty, longer than 64 characters,
            or containing control characters (C0/C1, surrogates, or text
            direction controls).
    """
    if not isinstance(label, str):
        raise InvalidPasskeyLabel("label is not a string")
    text = unicodedata.normalize("NFKC", label).strip()
    if not text:
        raise InvalidPasskeyLabel("label is empty")
    if len(text) > MAX_LABEL_LENGTH:
        raise InvalidPasskeyLabel("label is too long")
    if any(unicodedata.category(ch) in ("Cc", "Cs") or ch in _BIDI_CONTROLS for ch in text):
        # Emoji joiners (also "format" characters) stay allowed; text
        # direction overrides could make one label look like another.
        raise InvalidPasskeyLabel("label contains control characters")
    return text


# -- challenges ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChallengeRecord:
    """What the challenge store keeps under a challenge's base64url.

    JSON form: ``{"ceremony", "user_id", "user_handle", "user_verification"}``.
    ``user_id`` is ``None`` for a usernameless sign-in; ``user_handle`` is set
    for registrations only; ``user_verification`` is the policy the options
    announced, enforced again when the response comes back.
    """

    ceremony: Ceremony
    user_id: str | None
    user_handle: str | None
    user_verification: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "ceremony": self.ceremony,
                "user_id": self.user_id,
                "user_handle": self.user_handle,
                "user_verification": self.user_verification,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> ChallengeRecord:
        """Parse a stored value.

        Raises:
            PasskeyChallengeError: the stored value is not a challenge record.
        """
        try:
            data = json.loads(text)
        except (TypeError, ValueError, RecursionError) as exc:
            raise PasskeyChallengeError("challenge_record_corrupt") from exc
        if not isinstance(data, dict):
            raise PasskeyChallengeError("challenge_record_corrupt")
        ceremony = data.get("ceremony")
        user_id, handle = data.get("user_id"), data.get("user_handle")
        uv = data.get("user_verification", "preferred")
        if (
            ceremony not in (REGISTRATION, AUTHENTICATION)
            or not isinstance(user_id, str | None)
            or not isinstance(handle, str | None)
            or uv not in _POLICIES
        ):
            raise PasskeyChallengeError("challenge_record_corrupt")
        return cls(ceremony, user_id, handle, uv)


def check_challenge(
    stored: str | None, *, ceremony: Ceremony, user_id: str | None = None
) -> ChallengeRecord:
    """Turn the popped store value into a record and bind it to this ceremony.

    Args:
        stored: what ``pop_challenge`` returned (``None``: unknown, expired,
            or already used).
        ceremony: the ceremony being finished.
        user_id: for registration, the user finishing it: the challenge must
            have been issued to the same user.

    Raises:
        PasskeyChallengeError: reason ``challenge_unknown`` (unknown, expired
            or replayed), ``challenge_wrong_ceremony`` or ``challenge_wrong_user``.
    """
    if stored is None:
        raise PasskeyChallengeError("challenge_unknown")
    record = ChallengeRecord.from_json(stored)
    if record.ceremony != ceremony:
        raise PasskeyChallengeError("challenge_wrong_ceremony")
    if ceremony == REGISTRATION and (
        record.user_id is None or user_id is None or record.user_id != user_id
    ):
        raise PasskeyChallengeError("challenge_wrong_user")
    return record


# -- options ---------------------------------------------------------------------


def _descriptors(wa: Any, credentials: Sequence[PasskeyCredential]) -> list[Any]:
    structs = wa.helpers.structs
    out = []
    for cred in credentials:
        transports = [
            structs.AuthenticatorTransport(t) for t in cred.transports if t in _TRANSPORTS
        ]
        out.append(
            structs.PublicKeyCredentialDescriptor(
                id=_b64u_strict(cred.credential_id, "credential_id"),
                transports=transports or None,
            )
        )
    return out


def _timeout_ms(config: AuthConfig) -> int:
    # The browser gives up when the challenge would have expired anyway.
    return config.challenge_ttl * 1000


def registration_options(
    config: AuthConfig,
    *,
    challenge: bytes,
    user_handle: str,
    user_name: str,
    display_name: str | None = None,
    exclude: Sequence[PasskeyCredential] = (),
    resident_key: str | None = None,
    user_verification: str | None = None,
    attestation: str | None = None,
    authenticator_attachment: str | None = None,
) -> dict[str, Any]:
    """``PublicKeyCredentialCreationOptionsJSON`` for ``navigator.credentials.create``.

    ``exclude`` (the user's existing credentials) becomes
    ``excludeCredentials``, so one authenticator is not registered twice.
    ``None`` policies fall back to the configuration.

    Raises:
        ConfigurationError: py_webauthn is missing, a policy value is not
            one WebAuthn knows, or ``rp_id``/``rp_name``/``user_name`` is empty.
    """
    wa = _webauthn()
    structs = wa.helpers.structs
    rk = _policy(resident_key or config.passkey_resident_key, "resident_key", _POLICIES)
    uv = _policy(
        user_verification or config.passkey_user_verification, "user_verification", _POLICIES
    )
    att = _policy(attestation or config.passkey_attestation, "attestation", _ATTESTATIONS)
    attachment = None
    if authenticator_attachment is not None:
        attachment = structs.AuthenticatorAttachment(
            _policy(authenticator_attachment, "authenticator_attachment", _ATTACHMENTS)
        )
    if not isinstance(user_name, str) or not user_name.strip():
        raise ConfigurationError("register_passkey needs a non-empty user_name")
    try:
        options = wa.generate_registration_options(
            rp_id=config.rp_id,
            rp_name=config.rp_name,
            user_name=user_name,
            user_id=_b64u_strict(user_handle, "user_handle"),
            user_display_name=display_name or user_name,
            challenge=challenge,
            timeout=_timeout_ms(config),
            attestation=structs.AttestationConveyancePreference(att),
            authenticator_selection=structs.AuthenticatorSelectionCriteria(
                authenticator_attachment=attachment,
                resident_key=structs.ResidentKeyRequirement(rk),
                user_verification=structs.UserVerificationRequirement(uv),
            ),
            exclude_credentials=_descriptors(wa, exclude),
            supported_pub_key_algs=[
                wa.helpers.cose.COSEAlgorithmIdentifier(a) for a in SUPPORTED_ALGORITHMS
            ],
        )
    except ValueError as exc:
        raise ConfigurationError(f"cannot build registration options: {exc}") from exc
    result: dict[str, Any] = json.loads(wa.options_to_json(options))
    return result


def authentication_options(
    config: AuthConfig,
    *,
    challenge: bytes,
    allow: Sequence[PasskeyCredential] = (),
    user_verification: str | None = None,
) -> dict[str, Any]:
    """``PublicKeyCredentialRequestOptionsJSON`` for ``navigator.credentials.get``.

    ``allow`` (a known user's credentials) becomes ``allowCredentials``; empty
    means usernameless: the authenticator offers its discoverable credentials
    (also what conditional mediation, passkey autofill, needs).

    Raises:
        ConfigurationError: py_webauthn is missing or a policy value is wrong.
    """
    wa = _webauthn()
    structs = wa.helpers.structs
    uv = _policy(
        user_verification or config.passkey_user_verification, "user_verification", _POLICIES
    )
    try:
        options = wa.generate_authentication_options(
            rp_id=config.rp_id,
            challenge=challenge,
            timeout=_timeout_ms(config),
            allow_credentials=_descriptors(wa, allow),
            user_verification=structs.UserVerificationRequirement(uv),
        )
    except ValueError as exc:
        raise ConfigurationError(f"cannot build authentication options: {exc}") from exc
    result: dict[str, Any] = json.loads(wa.options_to_json(options))
    return result


# -- parsing responses -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Common:
    data: dict[str, Any]
    credential_id: str
    raw_id: bytes
    challenge: bytes
    challenge_key: str
    client_data: Mapping[str, Any]


@dataclass(frozen=True, slots=True, repr=False)
class AttestationResponse:
    """A registration response, structurally checked (nothing verified yet).

    ``repr`` is withheld: the object holds the challenge.
    """

    data: dict[str, Any]
    credential_id: str
    raw_id: bytes
    challenge: bytes
    challenge_key: str
    client_data: Mapping[str, Any]
    attestation_object: bytes
    transports: tuple[str, ...]

    def __repr__(self) -> str:
        return f"AttestationResponse(credential_id={self.credential_id!r})"


@dataclass(frozen=True, slots=True, repr=False)
class AssertionResponse:
    """A sign-in response, structurally checked (nothing verified yet).

    ``user_handle`` is the base64url ``userHandle``, ``None`` when absent.
    """

    data: dict[str, Any]
    credential_id: str
    raw_id: bytes
    challenge: bytes
    challenge_key: str
    client_data: Mapping[str, Any]
    user_handle: str | None

    def __repr__(self) -> str:
        return f"AssertionResponse(credential_id={self.credential_id!r})"


def _load(response: object) -> dict[str, Any]:
    if isinstance(response, bytes | bytearray | memoryview):
        if len(response) > MAX_RESPONSE_BYTES:
            raise MalformedPasskeyResponse("response too large")
        try:
            response = bytes(response).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedPasskeyResponse("response is not UTF-8") from exc
    if isinstance(response, str):
        if len(response) > MAX_RESPONSE_BYTES:
            raise MalformedPasskeyResponse("response too large")
        try:
            response = json.loads(response)
        except (ValueError, RecursionError) as exc:
            raise MalformedPasskeyResponse("response is not JSON") from exc
    if not isinstance(response, Mapping):
        raise MalformedPasskeyResponse("response is not a JSON object")
    data = dict(response)
    inner = data.get("response")
    if not isinstance(inner, Mapping):
        raise MalformedPasskeyResponse("response.response is missing")
    data["response"] = dict(inner)
    size = sum(len(v) for v in data["response"].values() if isinstance(v, str))
    size += sum(len(v) for k, v in data.items() if isinstance(v, str) and k != "response")
    if size > MAX_RESPONSE_BYTES:
        raise MalformedPasskeyResponse("response too large")
    return data


def _common(response: object) -> _Common:
    data = _load(response)
    if data.get("type") != "public-key":
        raise MalformedPasskeyResponse("type is not public-key")
    raw_id = _b64u_strict(data.get("rawId"), "rawId")
    if not 1 <= len(raw_id) <= MAX_CREDENTIAL_ID_BYTES:
        raise MalformedPasskeyResponse("rawId has an impossible length")
    credential_id = _b64u(raw_id)
    if data.get("id") != credential_id:
        # We look the credential up by rawId; an id that says otherwise is a
        # response assembled by hand, never one a browser produced.
        raise MalformedPasskeyResponse("id does not equal rawId")
    client_json = _b64u_strict(data["response"].get("clientDataJSON"), "clientDataJSON")
    try:
        client_data = json.loads(client_json)
    except (ValueError, RecursionError) as exc:
        raise MalformedPasskeyResponse("clientDataJSON is not JSON") from exc
    if not isinstance(client_data, dict):
        raise MalformedPasskeyResponse("clientDataJSON is not an object")
    for name in ("type", "challenge", "origin"):
        if not isinstance(client_data.get(name), str):
            raise MalformedPasskeyResponse(f"clientDataJSON.{name} is missing")
    if "crossOrigin" in client_data and not isinstance(client_data["crossOrigin"], bool):
        raise MalformedPasskeyResponse("clientDataJSON.crossOrigin is not a boolean")
    try:
        challenge = _b64u_strict(client_data["challenge"], "challenge")
    except MalformedPasskeyResponse as exc:
        raise PasskeyChallengeError("challenge_malformed") from exc
    if len(challenge) != CHALLENGE_BYTES:
        raise PasskeyChallengeError("challenge_unknown")  # not one we issued
    return _Common(data, credential_id, raw_id, challenge, challenge_key(challenge), client_data)


def parse_registration_response(response: object) -> AttestationResponse:
    """Check the structure of a ``navigator.credentials.create`` result.

    ``response`` is the ``PublicKeyCredential``'s JSON (``toJSON()``) as text,
    bytes or an already parsed mapping.

    Raises:
        MalformedPasskeyResponse: not JSON, missing fields, bad base64url,
            ``id`` not equal to ``rawId``, too large.
        PasskeyChallengeError: the challenge cannot be one we issued.
    """
    common = _common(response)
    inner = common.data["response"]
    attestation = _b64u_strict(inner.get("attestationObject"), "attestationObject")
    raw = inner.get("transports")
    transports: tuple[str, ...] = ()
    if isinstance(raw, list):
        transports = tuple(dict.fromkeys(t for t in raw if isinstance(t, str) and t in _TRANSPORTS))
    return AttestationResponse(
        data=common.data,
        credential_id=common.credential_id,
        raw_id=common.raw_id,
        challenge=common.challenge,
        challenge_key=common.challenge_key,
        client_data=common.client_data,
        attestation_object=attestation,
        transports=transports,
    )


def parse_authentication_response(response: object) -> AssertionResponse:
    """Check the structure of a ``navigator.credentials.get`` result.

    Raises:
        MalformedPasskeyResponse, PasskeyChallengeError: as
            :func:`parse_registration_response`.
    """
    common = _common(response)
    inner = common.data["response"]
    auth_data = _b64u_strict(inner.get("authenticatorData"), "authenticatorData")
    if len(auth_data) < 37:  # RP id hash, flags, counter
        raise MalformedPasskeyResponse("authenticatorData is too short")
    _b64u_strict(inner.get("signature"), "signature")
    handle = inner.get("userHandle")
    user_handle = None
    if handle not in (None, ""):
        user_handle = _b64u(_b64u_strict(handle, "userHandle"))
    else:
        inner.pop("userHandle", None)
    return AssertionResponse(
        data=common.data,
        credential_id=common.credential_id,
        raw_id=common.raw_id,
        challenge=common.challenge,
        challenge_key=common.challenge_key,
        client_data=common.client_data,
        user_handle=user_handle,
    )


def check_cross_origin(
    response: AttestationResponse | AssertionResponse, config: AuthConfig
) -> None:
    """Refuse ceremonies run inside a cross-origin iframe, unless configured.

    ``topOrigin`` without ``crossOrigin: true`` is contradictory and refused too.

    Raises:
        CrossOriginPasskey: ``crossOrigin: true`` and ``passkey_allow_cross_origin`` off.
    """
    cross = response.client_data.get("crossOrigin", False) is True
    if "topOrigin" in response.client_data and not cross:
        raise CrossOriginPasskey("topOrigin without crossOrigin")
    if cross and not config.passkey_allow_cross_origin:
        raise CrossOriginPasskey("crossOrigin is true")


# -- public keys -----------------------------------------------------------------


def check_public_key(cose_key: bytes) -> None:
    """Refuse a credential public key that must not be trusted.

    py_webauthn never loads the key of a ``"none"`` attestation, so without
    this check an invalid key would be stored and only fail (or worse, pass)
    at sign-in. An Ed25519 key of small or mixed order lets signatures verify
    that no private key made; an EC point off its curve invites invalid-curve
    attacks.

    Raises:
        UnsafePasskeyKey: reason says which check failed.
        ConfigurationError: py_webauthn is missing.
    """
    wa = _webauthn()
    from webauthn.helpers.decode_credential_public_key import (
        DecodedEC2PublicKey,
        DecodedOKPPublicKey,
        DecodedRSAPublicKey,
        decode_credential_public_key,
    )

    try:
        key = decode_credential_public_key(cose_key)
    except Exception as exc:  # py_webauthn: KeyError, CBOR errors, its own types
        raise UnsafePasskeyKey(f"undecodable public key: {type(exc).__name__}") from exc
    cose = wa.helpers.cose
    alg: object = key.alg  # whatever the CBOR said
    if isinstance(alg, bool) or not isinstance(alg, int) or int(alg) not in SUPPORTED_ALGORITHMS:
        raise UnsafePasskeyKey(f"unsupported algorithm {alg}")
    if isinstance(key, DecodedOKPPublicKey):
        if alg != cose.COSEAlgorithmIdentifier.EDDSA or key.crv != cose.COSECRV.ED25519:
            raise UnsafePasskeyKey("OKP key is not Ed25519")
        if not isinstance(key.x, bytes) or not is_safe_public_key(key.x):
            raise UnsafePasskeyKey("Ed25519 key is not a prime-order point")
        return
    if isinstance(key, DecodedEC2PublicKey):
        _check_ec2(key, alg, cose)
        return
    if isinstance(key, DecodedRSAPublicKey):
        _check_rsa(key, alg, cose)
        return
    raise UnsafePasskeyKey(f"unsupported key type {type(key).__name__}")


def _check_ec2(key: Any, alg: int, cose: Any) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    if alg != cose.COSEAlgorithmIdentifier.ECDSA_SHA_256 or key.crv != cose.COSECRV.P256:
        raise UnsafePasskeyKey("EC2 key is not ES256 on P-256")
    if not (isinstance(key.x, bytes) and isinstance(key.y, bytes)):
        raise UnsafePasskeyKey("EC2 coordinates are not bytes")
    if len(key.x) != 32 or len(key.y) != 32:
        raise UnsafePasskeyKey("EC2 coordinates have the wrong length")
    x, y = int.from_bytes(key.x, "big"), int.from_bytes(key.y, "big")
    try:
        # OpenSSL checks that (x, y) lies on P-256 (cofactor 1: on the curve
        # means in the prime-order group) and that x, y are field elements.
        ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    except ValueError as exc:
        raise UnsafePasskeyKey("EC point is not on P-256") from exc


def _check_rsa(key: Any, alg: int, cose: Any) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    if alg != cose.COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256:
        raise UnsafePasskeyKey("RSA key is not RS256")
    if not (isinstance(key.n, bytes) and isinstance(key.e, bytes)):
        raise UnsafePasskeyKey("RSA parameters are not bytes")
    n, e = int.from_bytes(key.n, "big"), int.from_bytes(key.e, "big")
    if n.bit_length() < MIN_RSA_BITS:
        raise UnsafePasskeyKey("RSA modulus is shorter than 2048 bits")
    try:
        rsa.RSAPublicNumbers(e, n).public_key()
    except ValueError as exc:
        raise UnsafePasskeyKey("RSA parameters are invalid") from exc
    if e < 3 or e % 2 == 0:
        raise UnsafePasskeyKey("RSA exponent is invalid")


# -- verification ----------------------------------------------------------------


def _wrap(exc: Exception) -> MalformedPasskeyResponse | PasskeyVerificationFailed:
    """A py_webauthn (or parsing) exception as our error; the cause is chained."""
    name = type(exc).__name__
    cause = exc.__cause__
    while cause is not None:  # "authenticatorData was malformed" wraps the reason
        if type(cause).__name__ in _STRUCTURE_ERRORS:
            return MalformedPasskeyResponse(f"{name}: {exc}"[:300])
        cause = cause.__cause__
    # py_webauthn's messages name the failed check (origin, RP id, flags...)
    # and never contain the challenge; they are log material, not public text.
    reason = f"{name}: {exc}"[:300]
    if name in _STRUCTURE_ERRORS:
        return MalformedPasskeyResponse(reason)
    return PasskeyVerificationFailed(reason)


def _uv_required(config: AuthConfig, record: ChallengeRecord) -> bool:
    return "required" in (config.passkey_user_verification, record.user_verification)


def verify_registration(
    response: AttestationResponse,
    record: ChallengeRecord,
    config: AuthConfig,
    *,
    user_id: str,
    now: float,
    label: str | None = None,
) -> tuple[PasskeyCredential, str]:
    """Verify an attestation and build the credential to store.

    ``record`` is the popped, ceremony-checked challenge record. Returns the
    credential and the attestation format (``"none"``, ``"packed"``...).

    Raises:
        UnsafePasskeyKey: see :func:`check_public_key`.
        PasskeyVerificationFailed: py_webauthn rejected the attestation, or
            the attested credential id is not ``rawId``.
        UserVerificationRequired: policy ``"required"``, UV flag unset.
        MalformedPasskeyResponse: the attestation object does not parse.
        InvalidPasskeyLabel: ``label`` is not acceptable.
    """
    wa = _webauthn()
    clean = clean_label(label) if label is not None else DEFAULT_LABEL
    if record.user_handle is None:
        raise PasskeyChallengeError("challenge_record_corrupt")
    try:
        parsed = wa.helpers.parse_attestation_object(response.attestation_object)
        attested = parsed.auth_data.attested_credential_data
    except Exception as exc:
        raise MalformedPasskeyResponse(f"attestationObject: {type(exc).__name__}") from exc
    if attested is None or not attested.credential_public_key:
        raise PasskeyVerificationFailed("no attested credential data")
    if attested.credential_id != response.raw_id:
        raise PasskeyVerificationFailed("attested credential id is not rawId")
    # Before py_webauthn: a self-attestation made with an unsafe key would
    # otherwise be "verified" by that very key, or fail under a vaguer name.
    check_public_key(attested.credential_public_key)
    try:
        verified = wa.verify_registration_response(
            credential=response.data,
            expected_challenge=response.challenge,
            expected_rp_id=config.rp_id,
            expected_origin=list(config.expected_origins),
            require_user_presence=True,
            require_user_verification=False,  # enforced below, with its own error
            supported_pub_key_algs=[
                wa.helpers.cose.COSEAlgorithmIdentifier(a) for a in SUPPORTED_ALGORITHMS
            ],
        )
    except Exception as exc:
        raise _wrap(exc) from exc
    if _uv_required(config, record) and not verified.user_verified:
        raise UserVerificationRequired("registration without user verification")
    flags = parsed.auth_data.flags
    credential = PasskeyCredential(
        credential_id=_b64u(verified.credential_id),
        user_id=user_id,
        user_handle=record.user_handle,
        public_key=bytes(verified.credential_public_key),
        sign_count=int(verified.sign_count),
        transports=response.transports,
        aaguid=str(verified.aaguid),
        backup_eligible=bool(flags.be),
        backup_state=bool(verified.credential_backed_up),
        created_at=now,
        last_used_at=None,
        label=clean,
    )
    return credential, str(getattr(verified.fmt, "value", verified.fmt))


@dataclass(frozen=True, slots=True)
class PasskeyVerification:
    """A verified sign-in assertion (what ``verify_passkey`` returns).

    Attributes:
        user_id: the application's user id the passkey belongs to.
        credential_id: the passkey's base64url id.
        sign_count: the counter the authenticator reported (0 for most
            synced passkeys).
        user_verified: the authenticator verified the user (PIN, biometrics).
        backup_eligible, backup_state: the passkey can be / is synced.
    """

    user_id: str
    credential_id: str
    sign_count: int
    user_verified: bool
    backup_eligible: bool
    backup_state: bool


def check_sign_count(credential_id: str, stored: int, received: int) -> None:
    """The signature-counter policy.

    A counter that did not go up from a non-zero stored value means two
    copies of the private key may exist (a cloned authenticator): rejected.
    Synced passkeys always report 0 and keep working; a counter that
    starts counting after 0 is fine.

    Raises:
        SignCountRegression: ``stored > 0`` and ``received <= stored``.
    """
    if stored > 0 and received <= stored:
        raise SignCountRegression(
            "sign count did not increase",
            credential_id=credential_id,
            stored_sign_count=stored,
            received_sign_count=received,
        )


def verify_assertion(
    response: AssertionResponse,
    credential: PasskeyCredential,
    record: ChallengeRecord,
    config: AuthConfig,
    *,
    expected_user_id: str | None = None,
) -> PasskeyVerification:
    """Verify a sign-in assertion against its stored credential.

    The caller has popped the challenge and looked the credential up by the
    response's id. Ownership is checked here: the credential must belong to
    the user the options were made for (``record.user_id``) and to
    ``expected_user_id`` (a caller that already knows the user), when set.

    Raises:
        PasskeyUserMismatch: the credential is not the expected user's, the
            ``userHandle`` is not the credential's, or a usernameless sign-in
            came without ``userHandle``.
        PasskeyVerificationFailed: py_webauthn rejected the assertion
            (signature, origin, RP id, user presence...).
        UserVerificationRequired: policy ``"required"``, UV flag unset.
        SignCountRegression: see :func:`check_sign_count` (checked only once
            the signature is known to be good).
    """
    wa = _webauthn()
    for bound in (record.user_id, expected_user_id):
        if bound is not None and credential.user_id != bound:
            raise PasskeyUserMismatch("credential belongs to another user")
    if response.user_handle is not None:
        if response.user_handle != credential.user_handle:
            raise PasskeyUserMismatch("userHandle is not the credential's")
    elif record.user_id is None and expected_user_id is None:
        # Usernameless: the user is identified by the credential alone, and
        # WebAuthn requires the authenticator to say whose it is.
        raise PasskeyUserMismatch("userHandle missing in a usernameless sign-in")
    try:
        verified = wa.verify_authentication_response(
            credential=response.data,
            expected_challenge=response.challenge,
            expected_rp_id=config.rp_id,
            expected_origin=list(config.expected_origins),
            credential_public_key=credential.public_key,
            # 0 switches py_webauthn's own counter check off: ours below runs
            # after the signature is verified and reports the regression.
            credential_current_sign_count=0,
            require_user_verification=False,  # enforced below, with its own error
        )
    except Exception as exc:
        raise _wrap(exc) from exc
    if _uv_required(config, record) and not verified.user_verified:
        raise UserVerificationRequired("assertion without user verification")
    new_count = int(verified.new_sign_count)
    check_sign_count(credential.credential_id, credential.sign_count, new_count)
    return PasskeyVerification(
        user_id=credential.user_id,
        credential_id=credential.credential_id,
        sign_count=new_count,
        user_verified=bool(verified.user_verified),
        backup_eligible=credential.backup_eligible,
        backup_state=bool(verified.credential_backed_up),
    )


# -- the browser module ----------------------------------------------------------


def javascript_path() -> Path:
    """Path of ``passkeys.js``, the dependency-free ES module shipped with the
    package, for apps that serve it as a static file (see docs/passkeys.md)."""
    return Path(__file__).resolve().parent / "static" / "passkeys.js"


def javascript_source() -> str:
    """The text of ``passkeys.js`` (works from zipped installs too)."""
    return resources.files("secure_auth").joinpath("static/passkeys.js").read_text("utf-8")
