"""Passkey registration: options, verification, storage, and every refusal.

Each security test forges a response that differs from a good one in just
the way its attack needs, and checks the error class *and* its reason, so a
test cannot pass because some other check happened to fire.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from secure_auth import (
    ConfigurationError,
    CrossOriginPasskey,
    InvalidPasskeyLabel,
    MalformedPasskeyResponse,
    PasskeyAlreadyRegistered,
    PasskeyChallengeError,
    PasskeyError,
    PasskeyVerificationFailed,
    UnsafePasskeyKey,
    UserVerificationRequired,
)

from .conftest import ORIGIN, PASSKEY_CONFIG, RP_ID, ServiceFactory, of_type, register
from .softauthn import BS, SoftAuthenticator, b64u, b64u_decode, ec2_cose_key, okp_cose_key
from .vectors import MIXED_ORDER_KEYS, SMALL_ORDER_KEYS


@pytest.fixture(params=["ed25519", "es256"])
def any_authenticator(request: pytest.FixtureRequest) -> SoftAuthenticator:
    return SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN, alg=request.param)


# -- what a good registration gives --------------------------------------------


def test_registration_stores_the_credential_and_its_metadata(
    service: Any, any_authenticator: SoftAuthenticator, events: list[Any], clock: Any
) -> None:
    options = service.register_passkey("alice", "alice@example.com", "Alice")
    response = any_authenticator.create(options)
    credential = service.finish_passkey_registration("alice", response, label="Laptop")

    soft = any_authenticator.credentials[0]
    assert credential.credential_id == soft.id
    assert credential.user_id == "alice"
    assert credential.user_handle == options["user"]["id"]
    assert credential.public_key == soft.cose_key()
    assert credential.sign_count == 0
    assert credential.transports == ("internal", "hybrid")
    assert credential.aaguid == "00010203-0405-0607-0809-0a0b0c0d0e0f"
    assert (credential.backup_eligible, credential.backup_state) == (False, False)
    assert credential.created_at == clock.now
    assert credential.last_used_at is None
    assert credential.label == "Laptop"
    assert service.list_passkeys("alice") == [credential]
    [event] = of_type(events, "passkey_registered")
    assert event.user_id == "alice"
    assert event.detail["credential_id"] == soft.id
    assert event.detail["attestation_format"] == "none"


def test_synced_passkey_flags_are_stored(service: Any) -> None:
    synced = SoftAuthenticator(
        rp_id=RP_ID, origin=ORIGIN, backup_eligible=True, backup_state=True, counter_step=0
    )
    credential = register(service, synced)
    assert (credential.backup_eligible, credential.backup_state) == (True, True)
    assert credential.label == "Passkey"


def test_registration_options_have_safe_defaults(service: Any, clock: Any) -> None:
    options = service.register_passkey("alice", "alice@example.com")
    assert options["rp"] == {"id": RP_ID, "name": "Example"}
    assert options["user"]["name"] == "alice@example.com"
    assert options["user"]["displayName"] == "alice@example.com"
    assert options["authenticatorSelection"] == {
        "residentKey": "preferred",
        "requireResidentKey": False,
        "userVerification": "preferred",
    }
    assert options["attestation"] == "none"
    assert [p["alg"] for p in options["pubKeyCredParams"]] == [-8, -7, -257]
    assert options["excludeCredentials"] == []
    assert options["timeout"] == PASSKEY_CONFIG.challenge_ttl * 1000
    assert len(b64u_decode(options["challenge"])) == 32
    json.dumps(options)  # JSON-ready as it is


def test_registration_options_follow_config_and_arguments(make_service: ServiceFactory) -> None:
    service = make_service(
        PASSKEY_CONFIG.replace(
            passkey_resident_key="required",
            passkey_user_verification="discouraged",
            passkey_attestation="direct",
        )
    )
    options = service.register_passkey("alice", "alice")
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["requireResidentKey"] is True
    assert options["authenticatorSelection"]["userVerification"] == "discouraged"
    assert options["attestation"] == "direct"
    options = service.register_passkey(
        "alice",
        "alice",
        resident_key="discouraged",
        user_verification="required",
        attestation="none",
        authenticator_attachment="cross-platform",
    )
    assert options["authenticatorSelection"] == {
        "authenticatorAttachment": "cross-platform",
        "residentKey": "discouraged",
        "requireResidentKey": False,
        "userVerification": "required",
    }
    assert options["attestation"] == "none"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"user_verification": "sometimes"},
        {"resident_key": "yes"},
        {"attestation": "full"},
        {"authenticator_attachment": "usb"},
    ],
)
def test_unknown_policy_value_is_a_configuration_error(service: Any, kwargs: Any) -> None:
    with pytest.raises(ConfigurationError):
        service.register_passkey("alice", "alice", **kwargs)


@pytest.mark.parametrize("user_id, user_name", [("", "alice"), (None, "alice"), ("alice", " ")])
def test_registration_needs_a_user_id_and_a_user_name(
    service: Any, user_id: Any, user_name: str
) -> None:
    with pytest.raises(ConfigurationError):
        service.register_passkey(user_id, user_name)


def test_user_handle_is_random_per_user_and_never_the_user_id(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    alice = service.register_passkey("alice", "alice")
    bob = service.register_passkey("bob", "bob")
    handle = b64u_decode(alice["user"]["id"])
    assert len(handle) == 32
    assert b"alice" not in handle
    assert alice["user"]["id"] != bob["user"]["id"]


def test_existing_passkeys_are_excluded_and_their_user_handle_reused(
    service: Any, authenticator: SoftAuthenticator, clock: Any
) -> None:
    first = register(service, authenticator)
    clock.advance(1)
    options = service.register_passkey("alice", "alice@example.com")
    assert options["user"]["id"] == first.user_handle
    assert options["excludeCredentials"] == [
        {"id": first.credential_id, "type": "public-key", "transports": ["internal", "hybrid"]}
    ]
    second = service.finish_passkey_registration("alice", authenticator.create(options))
    assert second.user_handle == first.user_handle
    assert [c.credential_id for c in service.list_passkeys("alice")] == [
        first.credential_id,
        second.credential_id,
    ]


def test_direct_attestation_with_packed_self_attestation_is_verified(
    make_service: ServiceFactory, any_authenticator: SoftAuthenticator, events: list[Any]
) -> None:
    service = make_service(PASSKEY_CONFIG.replace(passkey_attestation="direct"))
    options = service.register_passkey("alice", "alice")
    assert options["attestation"] == "direct"
    credential = service.finish_passkey_registration(
        "alice", any_authenticator.create(options, fmt="packed")
    )
    assert credential.public_key == any_authenticator.credentials[0].cose_key()
    assert of_type(events, "passkey_registered")[0].detail["attestation_format"] == "packed"


def test_forged_attestation_signature_is_rejected(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options, fmt="packed", forge_attestation_signature=True)
    with pytest.raises(PasskeyVerificationFailed) as info:
        service.finish_passkey_registration("alice", response)
    assert "InvalidRegistrationResponse" in info.value.reason
    assert service.list_passkeys("alice") == []


def test_none_attestation_carrying_a_statement_is_rejected(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options, att_stmt={"alg": -8, "sig": b"\x00" * 64})
    with pytest.raises(PasskeyVerificationFailed) as info:
        service.finish_passkey_registration("alice", response)
    assert "None attestation had unexpected attestation statement" in info.value.reason


def test_unsupported_attestation_format_is_rejected(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options, fmt="made-up", att_stmt={})
    with pytest.raises(PasskeyVerificationFailed) as info:
        service.finish_passkey_registration("alice", response)
    assert "Unsupported attestation type" in info.value.reason


def test_label_is_checked_before_the_challenge_is_spent(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options)
    for bad in ("", "   ", "x" * 65, "tab\there"):
        with pytest.raises(InvalidPasskeyLabel):
            service.finish_passkey_registration("alice", response, label=bad)
    fullwidth = "  \uff30hone "  # "Phone" with a fullwidth P, padded
    credential = service.finish_passkey_registration("alice", response, label=fullwidth)
    assert credential.label == "Phone"  # NFKC, stripped


# -- challenges -----------------------------------------------------------------


def test_replayed_registration_response_is_rejected(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options)
    service.finish_passkey_registration("alice", response)
    with pytest.raises(PasskeyChallengeError) as info:
        service.finish_passkey_registration("alice", response)
    assert info.value.reason == "challenge_unknown"


def test_expired_registration_challenge_is_rejected(
    service: Any, authenticator: SoftAuthenticator, clock: Any
) -> None:
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options)
    clock.advance(PASSKEY_CONFIG.challenge_ttl + 1)
    with pytest.raises(PasskeyChallengeError) as info:
        service.finish_passkey_registration("alice", response)
    assert info.value.reason == "challenge_unknown"
    assert service.list_passkeys("alice") == []


def test_challenge_that_was_never_issued_is_rejected(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options, challenge=b64u(os.urandom(32)))
    with pytest.raises(PasskeyChallengeError) as info:
        service.finish_passkey_registration("alice", response)
    assert info.value.reason == "challenge_unknown"


def test_registration_challenge_of_another_user_is_rejected_and_spent(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    # Mallory gets Alice's pending registration answered with her own
    # authenticator and tries to attach it to her account (or Alice's options
    # to his): the challenge is bound to the user it was issued to.
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options)
    with pytest.raises(PasskeyChallengeError) as info:
        service.finish_passkey_registration("mallory", response)
    assert info.value.reason == "challenge_wrong_user"
    with pytest.raises(PasskeyChallengeError):  # single use, even after a failure
        service.finish_passkey_registration("alice", response)
    assert service.list_passkeys("mallory") == service.list_passkeys("alice") == []


def test_sign_in_challenge_cannot_finish_a_registration(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    login_options = service.passkey_login_options()
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options, challenge=login_options["challenge"])
    with pytest.raises(PasskeyChallengeError) as info:
        service.finish_passkey_registration("alice", response)
    assert info.value.reason == "challenge_wrong_ceremony"


def test_sign_in_response_cannot_finish_a_registration(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options, client_type="webauthn.get")
    with pytest.raises(PasskeyVerificationFailed) as info:
        service.finish_passkey_registration("alice", response)
    assert "Unexpected client data type" in info.value.reason


# -- credential ids --------------------------------------------------------------


def test_credential_registered_to_another_user_is_rejected(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    victim = register(service, authenticator, "alice")
    attacker = SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN)
    options = service.register_passkey("mallory", "mallory")
    response = attacker.create(options, raw_id=b64u_decode(victim.credential_id))
    with pytest.raises(PasskeyAlreadyRegistered):
        service.finish_passkey_registration("mallory", response)
    [stored] = service.list_passkeys("alice")
    assert stored == victim  # owner and public key untouched
    assert service.list_passkeys("mallory") == []


def test_same_passkey_registered_twice_is_rejected(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    first = register(service, authenticator)
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options, raw_id=b64u_decode(first.credential_id))
    with pytest.raises(PasskeyAlreadyRegistered):
        service.finish_passkey_registration("alice", response)
    assert service.list_passkeys("alice") == [first]


def test_raw_id_not_equal_to_id_is_rejected(service: Any, authenticator: SoftAuthenticator) -> None:
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options)
    response["id"] = b64u(os.urandom(16))
    with pytest.raises(MalformedPasskeyResponse) as info:
        service.finish_passkey_registration("alice", response)
    assert info.value.reason == "id does not equal rawId"


def test_attested_credential_id_other_than_raw_id_is_rejected(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    # The client claims one id while the authenticator attested another: we
    # would store a credential whose assertions could never be found again,
    # or one registered under someone else's id.
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options, attested_id=os.urandom(16))
    with pytest.raises(PasskeyVerificationFailed) as info:
        service.finish_passkey_registration("alice", response)
    assert info.value.reason == "attested credential id is not rawId"


# -- origin, RP, flags -----------------------------------------------------------


def test_registration_from_another_origin_is_rejected(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options, origin="https://login.example.com.evil.test")
    with pytest.raises(PasskeyVerificationFailed) as info:
        service.finish_passkey_registration("alice", response)
    assert "Unexpected client data origin" in info.value.reason


def test_registration_for_another_rp_id_is_rejected(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options, rp_id="evil.test")
    with pytest.raises(PasskeyVerificationFailed) as info:
        service.finish_passkey_registration("alice", response)
    assert "Unexpected RP ID hash" in info.value.reason


def test_registration_without_user_presence_is_rejected(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options, up=False)
    with pytest.raises(PasskeyVerificationFailed) as info:
        service.finish_passkey_registration("alice", response)
    assert "User presence was required" in info.value.reason


def test_cross_origin_iframe_registration_is_rejected(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options, cross_origin=True)
    with pytest.raises(CrossOriginPasskey) as info:
        service.finish_passkey_registration("alice", response)
    assert info.value.reason == "crossOrigin is true"


def test_cross_origin_registration_is_accepted_when_configured(
    make_service: ServiceFactory, authenticator: SoftAuthenticator
) -> None:
    service = make_service(PASSKEY_CONFIG.replace(passkey_allow_cross_origin=True))
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(
        options, cross_origin=True, client_extra={"topOrigin": "https://shop.test"}
    )
    assert service.finish_passkey_registration("alice", response).user_id == "alice"


def test_unverified_user_is_rejected_when_policy_requires_verification(
    make_service: ServiceFactory,
) -> None:
    service = make_service(PASSKEY_CONFIG.replace(passkey_user_verification="required"))
    no_uv = SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN, user_verified=False)
    options = service.register_passkey("alice", "alice")
    assert options["authenticatorSelection"]["userVerification"] == "required"
    with pytest.raises(UserVerificationRequired):
        service.finish_passkey_registration("alice", no_uv.create(options))
    assert service.list_passkeys("alice") == []


def test_verification_required_for_one_ceremony_is_enforced_at_its_end(
    service: Any,
) -> None:
    no_uv = SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN, user_verified=False)
    options = service.register_passkey("alice", "alice", user_verification="required")
    with pytest.raises(UserVerificationRequired):
        service.finish_passkey_registration("alice", no_uv.create(options))


def test_unverified_user_is_accepted_when_verification_is_preferred(service: Any) -> None:
    no_uv = SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN, user_verified=False)
    assert register(service, no_uv).user_id == "alice"


def test_backed_up_but_not_backup_eligible_is_rejected(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options, flags_extra=BS)
    with pytest.raises(PasskeyVerificationFailed) as info:
        service.finish_passkey_registration("alice", response)
    assert "InvalidBackupFlags" in info.value.reason


# -- unsafe public keys ----------------------------------------------------------


@pytest.mark.parametrize("key_hex", SMALL_ORDER_KEYS[:3] + SMALL_ORDER_KEYS[-1:])
def test_small_order_ed25519_key_is_refused_at_registration(
    service: Any, authenticator: SoftAuthenticator, key_hex: str
) -> None:
    # With a small-order key, one signature "verifies" any message: whoever
    # registers it can sign in without any private key.
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options, cose_key=okp_cose_key(bytes.fromhex(key_hex)))
    with pytest.raises(UnsafePasskeyKey) as info:
        service.finish_passkey_registration("alice", response)
    assert info.value.reason == "Ed25519 key is not a prime-order point"
    assert service.list_passkeys("alice") == []


def test_mixed_order_ed25519_key_is_refused_at_registration(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    options = service.register_passkey("alice", "alice")
    key = okp_cose_key(bytes.fromhex(MIXED_ORDER_KEYS[0]))
    response = authenticator.create(options, cose_key=key)
    with pytest.raises(UnsafePasskeyKey) as info:
        service.finish_passkey_registration("alice", response)
    assert info.value.reason == "Ed25519 key is not a prime-order point"


def test_small_order_key_is_refused_even_with_a_self_attestation(
    make_service: ServiceFactory, authenticator: SoftAuthenticator
) -> None:
    # The identity point "verifies" a forged self-attestation too; the key
    # check must not depend on the attestation format.
    service = make_service(PASSKEY_CONFIG.replace(passkey_attestation="direct"))
    options = service.register_passkey("alice", "alice")
    identity = bytes.fromhex("01" + "00" * 31)
    response = authenticator.create(
        options,
        cose_key=okp_cose_key(identity),
        fmt="packed",
        att_stmt={"alg": -8, "sig": bytes.fromhex("01" + "00" * 63)},
    )
    with pytest.raises(UnsafePasskeyKey):
        service.finish_passkey_registration("alice", response)


def test_ec_point_off_the_curve_is_refused_at_registration(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    # An invalid-curve point: py_webauthn never loads the key of a "none"
    # attestation, so only our check stands between it and the store.
    options = service.register_passkey("alice", "alice")
    key = ec2_cose_key((1).to_bytes(32, "big"), (1).to_bytes(32, "big"))
    response = authenticator.create(options, cose_key=key)
    with pytest.raises(UnsafePasskeyKey) as info:
        service.finish_passkey_registration("alice", response)
    assert info.value.reason == "EC point is not on P-256"


def test_key_of_an_algorithm_not_offered_is_refused(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    options = service.register_passkey("alice", "alice")
    key = ec2_cose_key(os.urandom(48), os.urandom(48), alg=-35, crv=2)  # ES384
    response = authenticator.create(options, cose_key=key)
    with pytest.raises(UnsafePasskeyKey) as info:
        service.finish_passkey_registration("alice", response)
    assert info.value.reason == "unsupported algorithm -35"


# -- malformed input -------------------------------------------------------------


def _mutations() -> list[tuple[str, Any]]:
    def set_(path: tuple[str, ...], value: Any) -> Any:
        def mutate(r: dict[str, Any]) -> Any:
            target = r
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
            return r

        return mutate

    def drop(*path: str) -> Any:
        def mutate(r: dict[str, Any]) -> Any:
            target = r
            for key in path[:-1]:
                target = target[key]
            del target[path[-1]]
            return r

        return mutate

    return [
        ("not json", lambda r: "{not json"),
        ("json array", lambda r: "[]"),
        ("bytes, not utf-8", lambda r: b"\xff\xfe"),
        ("a number", lambda r: 42),
        ("deeply nested", lambda r: "[" * 50_000),
        ("too large", lambda r: json.dumps({**r, "padding": "x" * 70_000})),
        ("no response", drop("response")),
        ("wrong type", set_(("type",), "password")),
        ("rawId not base64url", set_(("rawId",), "a+b/c=")),
        ("rawId missing", drop("rawId")),
        ("clientDataJSON missing", drop("response", "clientDataJSON")),
        ("clientDataJSON not JSON", set_(("response", "clientDataJSON"), b64u(b"{oops"))),
        ("clientDataJSON a list", set_(("response", "clientDataJSON"), b64u(b"[1]"))),
        (
            "clientDataJSON without challenge",
            set_(
                ("response", "clientDataJSON"),
                b64u(b'{"type":"webauthn.create","origin":"https://login.example.com"}'),
            ),
        ),
        ("attestationObject missing", drop("response", "attestationObject")),
        ("attestationObject not CBOR", set_(("response", "attestationObject"), b64u(b"\xff"))),
        ("attestationObject empty map", set_(("response", "attestationObject"), b64u(b"\xa0"))),
    ]


@pytest.mark.parametrize("name, mutate", _mutations(), ids=[m[0] for m in _mutations()])
def test_malformed_registration_response_is_a_passkey_error(
    service: Any, authenticator: SoftAuthenticator, name: str, mutate: Any
) -> None:
    options = service.register_passkey("alice", "alice")
    response = mutate(authenticator.create(options))
    with pytest.raises(MalformedPasskeyResponse):
        service.finish_passkey_registration("alice", response)
    assert service.list_passkeys("alice") == []


def test_cross_origin_must_be_a_boolean(service: Any, authenticator: SoftAuthenticator) -> None:
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options, cross_origin="false")
    with pytest.raises(MalformedPasskeyResponse) as info:
        service.finish_passkey_registration("alice", response)
    assert info.value.reason == "clientDataJSON.crossOrigin is not a boolean"


def test_response_is_accepted_as_json_text_and_bytes(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    options = service.register_passkey("alice", "alice")
    text = json.dumps(authenticator.create(options))
    assert service.finish_passkey_registration("alice", text).user_id == "alice"
    options = service.register_passkey("alice", "alice")
    body = json.dumps(authenticator.create(options)).encode()
    assert service.finish_passkey_registration("alice", body).user_id == "alice"


def test_every_registration_failure_is_a_passkey_error(
    service: Any, authenticator: SoftAuthenticator
) -> None:
    # The mutated attestation objects reach py_webauthn's parsers; nothing of
    # theirs (KeyError, CBOR errors...) may escape unwrapped.
    options = service.register_passkey("alice", "alice")
    response = authenticator.create(options, cose_key=b"\xa1\x01\x02")  # COSE without alg
    with pytest.raises(PasskeyError) as info:
        service.finish_passkey_registration("alice", response)
    assert type(info.value) is UnsafePasskeyKey
