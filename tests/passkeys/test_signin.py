"""Passkey sign-in: options, sessions, verification, and every refusal."""

from __future__ import annotations

import os
from typing import Any

import pytest

from secure_auth import (
    CrossOriginPasskey,
    MalformedPasskeyResponse,
    PasskeyChallengeError,
    PasskeyError,
    PasskeyUserMismatch,
    PasskeyVerification,
    PasskeyVerificationFailed,
    SignCountRegression,
    UnknownCredential,
    UserVerificationRequired,
)

from .conftest import ORIGIN, PASSKEY_CONFIG, RP_ID, ServiceFactory, of_type, register
from .softauthn import SoftAuthenticator, b64u, b64u_decode


@pytest.fixture
def alice(service: Any, authenticator: SoftAuthenticator) -> Any:
    """Alice with one registered passkey (counter 0)."""
    return register(service, authenticator, "alice")


# -- options ---------------------------------------------------------------------


def test_options_for_a_known_user_list_their_passkeys(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    register(service, SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN), "bob")
    options = service.passkey_login_options("alice")
    assert options["allowCredentials"] == [
        {"id": alice.credential_id, "type": "public-key", "transports": ["internal", "hybrid"]}
    ]
    assert options["rpId"] == RP_ID
    assert options["userVerification"] == "preferred"
    assert options["timeout"] == PASSKEY_CONFIG.challenge_ttl * 1000
    assert len(b64u_decode(options["challenge"])) == 32


def test_usernameless_options_allow_any_credential(service: Any, alice: Any) -> None:
    options = service.passkey_login_options()
    assert options["allowCredentials"] == []
    assert service.passkey_login_options("nobody")["allowCredentials"] == []


def test_each_options_call_issues_a_fresh_challenge(service: Any) -> None:
    challenges = {service.passkey_login_options()["challenge"] for _ in range(5)}
    assert len(challenges) == 5


# -- sign-in that works ------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ed25519", "es256"])
def test_login_with_passkey_opens_a_passkey_session(
    service: Any, events: list[Any], clock: Any, alg: str
) -> None:
    device = SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN, alg=alg)
    register(service, device)
    clock.advance(60)
    tokens = service.login_with_passkey(device.get(service.passkey_login_options("alice")))

    info = service.validate_session(tokens.access_token)
    assert (info.user_id, info.auth_method) == ("alice", "passkey")
    [stored] = service.list_passkeys("alice")
    assert stored.sign_count == 1
    assert stored.last_used_at == clock.now
    [used] = of_type(events, "passkey_used")
    assert used.user_id == "alice"
    assert used.detail["credential_id"] == stored.credential_id
    [ok] = of_type(events, "login_succeeded")
    assert (ok.reason, ok.session_id) == ("passkey", tokens.session_id)


def test_usernameless_login_finds_the_user_by_the_passkey(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    bob_device = SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN)
    register(service, bob_device, "bob")
    tokens = service.login_with_passkey(bob_device.get(service.passkey_login_options()))
    assert tokens.user_id == "bob"
    tokens = service.login_with_passkey(authenticator.get(service.passkey_login_options()))
    assert tokens.user_id == "alice"


def test_verify_passkey_verifies_without_opening_a_session(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    result = service.verify_passkey(
        authenticator.get(service.passkey_login_options("alice")), user_id="alice"
    )
    assert result == PasskeyVerification(
        user_id="alice",
        credential_id=alice.credential_id,
        sign_count=1,
        user_verified=True,
        backup_eligible=False,
        backup_state=False,
    )
    assert service.list_sessions("alice") == []
    assert service.list_passkeys("alice")[0].sign_count == 1


def test_verify_passkey_refuses_a_passkey_of_another_user(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    # Step-up for Bob's session, answered with Alice's passkey.
    with pytest.raises(PasskeyUserMismatch):
        service.verify_passkey(authenticator.get(service.passkey_login_options()), user_id="bob")


# -- challenges ----------------------------------------------------------------------


def test_replayed_assertion_is_rejected(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    response = authenticator.get(service.passkey_login_options("alice"))
    service.login_with_passkey(response)
    with pytest.raises(PasskeyChallengeError) as info:
        service.login_with_passkey(response)
    assert info.value.reason == "challenge_unknown"
    assert len(service.list_sessions("alice")) == 1


def test_failed_assertion_still_spends_its_challenge(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    options = service.passkey_login_options("alice")
    with pytest.raises(PasskeyVerificationFailed):
        service.login_with_passkey(authenticator.get(options, forge_signature=True))
    with pytest.raises(PasskeyChallengeError):
        service.login_with_passkey(authenticator.get(options))


def test_expired_sign_in_challenge_is_rejected(
    service: Any, authenticator: SoftAuthenticator, alice: Any, clock: Any
) -> None:
    options = service.passkey_login_options("alice")
    clock.advance(PASSKEY_CONFIG.challenge_ttl)
    with pytest.raises(PasskeyChallengeError) as info:
        service.login_with_passkey(authenticator.get(options))
    assert info.value.reason == "challenge_unknown"


def test_challenge_that_was_never_issued_is_rejected(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    options = service.passkey_login_options("alice")
    forged = authenticator.get(options, challenge=b64u(os.urandom(32)))
    with pytest.raises(PasskeyChallengeError) as info:
        service.login_with_passkey(forged)
    assert info.value.reason == "challenge_unknown"


@pytest.mark.parametrize("challenge", ["short", "not base64url!", b64u(os.urandom(64))])
def test_challenge_we_could_not_have_issued_is_rejected_unlooked(
    service: Any, authenticator: SoftAuthenticator, alice: Any, challenge: str
) -> None:
    options = service.passkey_login_options("alice")
    with pytest.raises(PasskeyChallengeError):
        service.login_with_passkey(authenticator.get(options, challenge=challenge))


def test_registration_challenge_cannot_be_used_to_sign_in(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    registration = service.register_passkey("alice", "alice")
    options = service.passkey_login_options("alice")
    response = authenticator.get(options, challenge=registration["challenge"])
    with pytest.raises(PasskeyChallengeError) as info:
        service.login_with_passkey(response)
    assert info.value.reason == "challenge_wrong_ceremony"


def test_registration_response_cannot_sign_in(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    options = service.passkey_login_options("alice")
    response = authenticator.get(options, client_type="webauthn.create")
    with pytest.raises(PasskeyVerificationFailed) as info:
        service.login_with_passkey(response)
    assert "Unexpected client data type" in info.value.reason


# -- which credential, which user -------------------------------------------------


def test_unknown_credential_is_rejected_clearly(service: Any, alice: Any) -> None:
    stranger = SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN)
    stranger.create(service.register_passkey("carol", "carol"))  # never finished
    with pytest.raises(UnknownCredential) as info:
        service.login_with_passkey(stranger.get(service.passkey_login_options()))
    assert info.value.credential_id == stranger.credentials[0].id


def test_passkey_of_another_user_cannot_answer_a_named_sign_in(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    # Options were made for Bob; Alice's (valid) passkey must not sign Bob in,
    # nor Alice: the ceremony was for Bob.
    register(service, SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN), "bob")
    options = service.passkey_login_options("bob")
    response = authenticator.get(options, credential=authenticator.credentials[0])
    with pytest.raises(PasskeyUserMismatch) as info:
        service.login_with_passkey(response)
    assert info.value.reason == "credential belongs to another user"
    assert service.list_sessions("alice") == service.list_sessions("bob") == []


def test_user_handle_of_another_user_is_rejected(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    bob = register(service, SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN), "bob")
    response = authenticator.get(service.passkey_login_options(), user_handle=bob.user_handle)
    with pytest.raises(PasskeyUserMismatch) as info:
        service.login_with_passkey(response)
    assert info.value.reason == "userHandle is not the credential's"


@pytest.mark.parametrize("handle", [None, ""])
def test_usernameless_assertion_without_user_handle_is_rejected(
    service: Any, authenticator: SoftAuthenticator, alice: Any, handle: Any
) -> None:
    response = authenticator.get(service.passkey_login_options(), user_handle=handle)
    with pytest.raises(PasskeyUserMismatch) as info:
        service.login_with_passkey(response)
    assert info.value.reason == "userHandle missing in a usernameless sign-in"


def test_named_sign_in_without_user_handle_is_accepted(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    # Non-discoverable credentials return no userHandle; the user is known.
    response = authenticator.get(service.passkey_login_options("alice"), user_handle=None)
    assert service.login_with_passkey(response).user_id == "alice"


def test_raw_id_not_equal_to_id_is_rejected(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    bob = register(service, SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN), "bob")
    response = authenticator.get(service.passkey_login_options())
    response["id"] = bob.credential_id
    with pytest.raises(MalformedPasskeyResponse) as info:
        service.login_with_passkey(response)
    assert info.value.reason == "id does not equal rawId"


# -- signature, origin, RP, flags ---------------------------------------------------


def test_forged_signature_is_rejected(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    response = authenticator.get(service.passkey_login_options("alice"), forge_signature=True)
    with pytest.raises(PasskeyVerificationFailed) as info:
        service.login_with_passkey(response)
    assert "Could not verify authentication signature" in info.value.reason
    assert service.list_passkeys("alice")[0].sign_count == 0  # nothing recorded


def test_signature_of_another_key_is_rejected(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    # The attacker knows Alice's credential id but signs with his own key.
    impostor = SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN)
    impostor.create(service.register_passkey("mallory", "mallory"))
    impostor.credentials[0].raw_id = b64u_decode(alice.credential_id)
    impostor.credentials[0].user_handle = b64u_decode(alice.user_handle)
    with pytest.raises(PasskeyVerificationFailed):
        service.login_with_passkey(impostor.get(service.passkey_login_options()))


def test_assertion_from_another_origin_is_rejected(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    response = authenticator.get(
        service.passkey_login_options("alice"), origin="https://phishing.test"
    )
    with pytest.raises(PasskeyVerificationFailed) as info:
        service.login_with_passkey(response)
    assert "Unexpected client data origin" in info.value.reason


def test_assertion_for_another_rp_id_is_rejected(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    response = authenticator.get(service.passkey_login_options("alice"), rp_id="example.com")
    with pytest.raises(PasskeyVerificationFailed) as info:
        service.login_with_passkey(response)
    assert "Unexpected RP ID hash" in info.value.reason


def test_assertion_without_user_presence_is_rejected(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    response = authenticator.get(service.passkey_login_options("alice"), up=False)
    with pytest.raises(PasskeyVerificationFailed) as info:
        service.login_with_passkey(response)
    assert "User was not present" in info.value.reason


def test_cross_origin_iframe_assertion_is_rejected(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    response = authenticator.get(
        service.passkey_login_options("alice"),
        cross_origin=True,
        client_extra={"topOrigin": "https://evil.test"},
    )
    with pytest.raises(CrossOriginPasskey) as info:
        service.login_with_passkey(response)
    assert info.value.reason == "crossOrigin is true"


def test_top_origin_without_cross_origin_is_rejected(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    response = authenticator.get(
        service.passkey_login_options("alice"), client_extra={"topOrigin": "https://evil.test"}
    )
    with pytest.raises(CrossOriginPasskey) as info:
        service.login_with_passkey(response)
    assert info.value.reason == "topOrigin without crossOrigin"


def test_cross_origin_assertion_is_accepted_when_configured(
    make_service: ServiceFactory, authenticator: SoftAuthenticator
) -> None:
    service = make_service(PASSKEY_CONFIG.replace(passkey_allow_cross_origin=True))
    register(service, authenticator)
    response = authenticator.get(
        service.passkey_login_options("alice"),
        cross_origin=True,
        client_extra={"topOrigin": "https://partner.test"},
    )
    assert service.login_with_passkey(response).user_id == "alice"


# -- user verification ---------------------------------------------------------------


def test_unverified_assertion_is_rejected_when_policy_requires_verification(
    make_service: ServiceFactory, authenticator: SoftAuthenticator
) -> None:
    service = make_service(PASSKEY_CONFIG.replace(passkey_user_verification="required"))
    register(service, authenticator)
    options = service.passkey_login_options("alice")
    assert options["userVerification"] == "required"
    with pytest.raises(UserVerificationRequired):
        service.login_with_passkey(authenticator.get(options, uv=False))
    assert service.list_sessions("alice") == []


def test_verification_required_for_one_sign_in_is_enforced(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    options = service.passkey_login_options("alice", user_verification="required")
    assert options["userVerification"] == "required"
    with pytest.raises(UserVerificationRequired):
        service.verify_passkey(authenticator.get(options, uv=False))


def test_unverified_assertion_is_accepted_when_verification_is_preferred(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    result = service.verify_passkey(authenticator.get(service.passkey_login_options(), uv=False))
    assert result.user_verified is False


# -- signature counter ---------------------------------------------------------------


def test_cloned_authenticator_is_caught_by_its_sign_count(
    service: Any, authenticator: SoftAuthenticator, alice: Any, events: list[Any]
) -> None:
    options = service.passkey_login_options("alice")
    service.login_with_passkey(authenticator.get(options, sign_count=5))
    # The clone signs with the same key but a counter that lags behind.
    clone = authenticator.get(service.passkey_login_options("alice"), sign_count=3)
    with pytest.raises(SignCountRegression) as info:
        service.login_with_passkey(clone)
    error = info.value
    assert (error.stored_sign_count, error.received_sign_count) == (5, 3)
    assert error.credential_id == alice.credential_id
    [event] = of_type(events, "sign_count_regression")
    assert event.user_id == "alice"
    assert event.detail["stored_sign_count"] == 5
    assert event.detail["received_sign_count"] == 3
    assert service.list_passkeys("alice")[0].sign_count == 5
    assert len(service.list_sessions("alice")) == 1


@pytest.mark.parametrize("count", [5, 0])
def test_sign_count_that_does_not_increase_is_a_regression(
    service: Any, authenticator: SoftAuthenticator, alice: Any, count: int
) -> None:
    service.login_with_passkey(authenticator.get(service.passkey_login_options(), sign_count=5))
    with pytest.raises(SignCountRegression):
        service.login_with_passkey(
            authenticator.get(service.passkey_login_options(), sign_count=count)
        )


def test_forged_assertion_never_reports_a_regression(
    service: Any, authenticator: SoftAuthenticator, alice: Any, events: list[Any]
) -> None:
    # Only a validly signed assertion may raise the clone alarm.
    service.login_with_passkey(authenticator.get(service.passkey_login_options(), sign_count=5))
    forged = authenticator.get(service.passkey_login_options(), sign_count=1, forge_signature=True)
    with pytest.raises(PasskeyVerificationFailed):
        service.login_with_passkey(forged)
    assert of_type(events, "sign_count_regression") == []


def test_synced_passkey_that_always_reports_zero_keeps_working(service: Any) -> None:
    synced = SoftAuthenticator(
        rp_id=RP_ID, origin=ORIGIN, counter_step=0, backup_eligible=True, backup_state=True
    )
    register(service, synced)
    for _ in range(3):
        assert service.login_with_passkey(synced.get(service.passkey_login_options())).user_id
    [stored] = service.list_passkeys("alice")
    assert (stored.sign_count, stored.backup_state) == (0, True)


def test_counter_that_starts_after_registration_at_zero_is_accepted(
    service: Any, authenticator: SoftAuthenticator, alice: Any
) -> None:
    assert alice.sign_count == 0
    result = service.verify_passkey(
        authenticator.get(service.passkey_login_options(), sign_count=41)
    )
    assert result.sign_count == 41


def test_backup_state_change_is_recorded(service: Any) -> None:
    device = SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN, backup_eligible=True, counter_step=0)
    register(service, device)
    device.backup_state = True
    result = service.verify_passkey(device.get(service.passkey_login_options()))
    assert result.backup_state is True
    assert service.list_passkeys("alice")[0].backup_state is True


# -- malformed input and audit ------------------------------------------------------


def _set(path: tuple[str, ...], value: Any) -> Any:
    def mutate(r: dict[str, Any]) -> Any:
        target = r
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return r

    return mutate


MALFORMED = [
    ("not json", lambda r: "nope"),
    ("null", lambda r: "null"),
    ("list", lambda r: []),
    ("response a string", _set(("response",), "x")),
    ("signature missing", _set(("response", "signature"), None)),
    (
        "signature padded",
        lambda r: _set(("response", "signature"), r["response"]["signature"] + "=")(r),
    ),
    ("authenticatorData missing", _set(("response", "authenticatorData"), 7)),
    ("authenticatorData short", _set(("response", "authenticatorData"), b64u(b"\x00" * 10))),
    (
        "authenticatorData claims attested data it lacks",
        _set(("response", "authenticatorData"), b64u(bytes(32) + b"\x41" + bytes(4))),
    ),
    ("userHandle a number", _set(("response", "userHandle"), 12)),
    ("rawId empty", lambda r: _set(("id",), "")(_set(("rawId",), "")(r))),
    (
        "rawId too long",
        lambda r: _set(("id",), b64u(b"a" * 1024))(_set(("rawId",), b64u(b"a" * 1024))(r)),
    ),
    (
        "clientDataJSON origin missing",
        _set(("response", "clientDataJSON"), b64u(b'{"type":"webauthn.get","challenge":"x"}')),
    ),
]


@pytest.mark.parametrize("name, mutate", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_assertion_is_a_passkey_error(
    service: Any, authenticator: SoftAuthenticator, alice: Any, name: str, mutate: Any
) -> None:
    response = mutate(authenticator.get(service.passkey_login_options("alice")))
    with pytest.raises(MalformedPasskeyResponse):
        service.login_with_passkey(response)
    assert service.list_sessions("alice") == []


def test_failed_sign_in_is_audited_without_secrets(
    service: Any, authenticator: SoftAuthenticator, alice: Any, events: list[Any]
) -> None:
    options = service.passkey_login_options("alice")
    response = authenticator.get(options, forge_signature=True)
    with pytest.raises(PasskeyError) as info:
        service.login_with_passkey(response, ip_address="203.0.113.9", user_agent="UA")
    [failed] = of_type(events, "login_failed")
    assert failed.user_id == "alice"
    assert failed.reason == "passkey_verification_failed"
    assert failed.ip_address == "203.0.113.9"
    assert failed.detail["method"] == "passkey"
    assert failed.detail["credential_id"] == alice.credential_id
    error = info.value
    for text in (str(error), repr(error), error.reason, repr(failed.to_json())):
        assert options["challenge"] not in text
        assert response["response"]["signature"] not in text
    assert str(error) == "The passkey could not be verified."
