"""Passkeys under attack: throttled assertion failures, secret-free events, fuzzing.

Built on the software authenticator of ``tests/passkeys`` (real CBOR, real
signatures), on both faces and the memory and SQLite stores.
"""

from __future__ import annotations

import base64
import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Face, FaceFactory
from passkeys.conftest import ORIGIN, PASSKEY_CONFIG, RP_ID, register
from passkeys.softauthn import SoftAuthenticator
from secure_auth import (
    AuthError,
    AuthEvent,
    MemoryStore,
    PasskeyError,
    SignCountRegression,
    SQLiteStore,
    SyncAuthService,
    Throttled,
)
from secure_auth.events import EVENT_TYPES

from .fuzzing import JSON, time_limit

ATTACKER, HOME, UA = "203.0.113.66", "198.51.100.7", "Mozilla/5.0 (passkey test)"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")


@pytest.fixture
def events() -> list[AuthEvent]:
    return []


@pytest.fixture
def service(make_face: FaceFactory, store: Any, events: list[AuthEvent]) -> Face:
    return make_face(store, config=PASSKEY_CONFIG, on_event=events.append)


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN)


def forged(service: Face, authenticator: SoftAuthenticator) -> dict[str, Any]:
    return authenticator.get(service.passkey_login_options(), forge_signature=True)


# -- throttling ---------------------------------------------------------------------


def test_forged_assertion_flood_is_throttled_per_ip(
    service: Face, authenticator: SoftAuthenticator
) -> None:
    register(service, authenticator, "alice")
    for _ in range(30):
        with pytest.raises(PasskeyError):
            service.login_with_passkey(forged(service, authenticator), ip_address=ATTACKER)
    good = authenticator.get(service.passkey_login_options())
    with pytest.raises(Throttled) as info:
        service.login_with_passkey(good, ip_address=ATTACKER)
    assert info.value.retry_after == 60
    # The owner, elsewhere, signs in; the refused response's challenge was not spent.
    assert service.login_with_passkey(good, ip_address=HOME).user_id == "alice"


def test_garbage_assertions_count_too_and_verify_passkey_is_throttled(
    service: Face, authenticator: SoftAuthenticator
) -> None:
    register(service, authenticator, "alice")
    for i in range(30):
        with pytest.raises(PasskeyError):
            service.verify_passkey({"id": f"junk{i}"}, ip_address=ATTACKER)
    with pytest.raises(Throttled):
        service.verify_passkey(
            authenticator.get(service.passkey_login_options()), ip_address=ATTACKER
        )


def test_successful_passkey_sign_ins_are_never_throttled(
    service: Face, authenticator: SoftAuthenticator
) -> None:
    register(service, authenticator, "alice")
    for _ in range(35):
        response = authenticator.get(service.passkey_login_options())
        service.login_with_passkey(response, ip_address=HOME)


# -- audit events ------------------------------------------------------------------------


def _key_strings(authenticator: SoftAuthenticator) -> list[str]:
    out = []
    for cred in authenticator.credentials:
        der = cred.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        out += [der.hex(), base64.b64encode(der).decode()[:40], der[-32:].hex()]
    return out


def test_passkey_events_carry_no_secret_and_say_who_and_where(
    service: Face,
    authenticator: SoftAuthenticator,
    events: list[AuthEvent],
    keypair: tuple[bytes, bytes],
) -> None:
    client = {"ip_address": HOME, "user_agent": UA}
    options = service.register_passkey("alice", "alice@example.com")
    created = authenticator.create(options)
    cred = service.finish_passkey_registration("alice", created, **client)
    responses = [created]
    tokens = []
    for _ in range(2):
        response = authenticator.get(service.passkey_login_options())
        responses.append(response)
        tokens.append(service.login_with_passkey(response, **client))
    replay = authenticator.get(service.passkey_login_options(), sign_count=1)  # a clone
    responses.append(replay)
    with pytest.raises(SignCountRegression):
        service.verify_passkey(replay, **client)
    bad = forged(service, authenticator)
    responses.append(bad)
    with pytest.raises(PasskeyError):
        service.login_with_passkey(bad, **client)
    service.delete_passkey("alice", cred.credential_id, **client)

    secrets = _key_strings(authenticator)
    for r in responses:
        body = r["response"]
        secrets += [
            body.get("signature"),
            body.get("clientDataJSON"),
            body.get("attestationObject"),
        ]
        secrets += [body.get("authenticatorData")]
    for t in tokens:
        secrets += [t.access_token, t.refresh_token, t.refresh_token.rsplit(".", 1)[1]]
    secrets += [options["challenge"]]
    secrets = [s for s in secrets if s]
    kinds = {e.type for e in events}
    assert (
        {
            "passkey_registered",
            "passkey_used",
            "passkey_deleted",
            "sign_count_regression",
            "login_failed",
            "login_succeeded",
            "session_created",
        }
        <= kinds
        <= EVENT_TYPES
    )
    for event in events:
        text = json.dumps(event.to_json(), ensure_ascii=False)
        for secret in secrets:
            assert secret not in text, f"{event.type} leaks a secret"
        assert (event.ip_address, event.user_agent) == (HOME, UA), event.type
        assert event.user_id == "alice", event.type


# -- fuzzing -------------------------------------------------------------------------------

EXAMPLES = int(os.environ.get("SECURE_AUTH_FUZZ_EXAMPLES", "100"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,  # hangs are caught by time_limit (SIGALRM, 5 s): load-proof
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


class Target:
    def __init__(self, keypair: tuple[bytes, bytes]) -> None:
        self.service = SyncAuthService(
            *keypair, MemoryStore(), config=PASSKEY_CONFIG.replace(throttle=_NO_THROTTLE)
        )
        self.authenticator = SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN)
        options = self.service.register_passkey("alice", "alice@example.com")
        self.created = self.authenticator.create(options)
        self.service.finish_passkey_registration("alice", self.created)

    def assertion(self) -> dict[str, Any]:
        return self.authenticator.get(self.service.passkey_login_options())


_NO_THROTTLE = PASSKEY_CONFIG.throttle.replace(enabled=False)


@pytest.fixture(scope="module")
def target(keypair: tuple[bytes, bytes]) -> Target:
    return Target(keypair)


@st.composite
def mutated_response(draw: st.DrawFn, response: dict[str, Any]) -> Any:
    """A real response with one to three fields replaced, dropped or bit-flipped."""
    doc = copy.deepcopy(response)
    for _ in range(draw(st.integers(1, 3))):
        where = doc if draw(st.booleans()) else doc.get("response")
        if not isinstance(where, dict) or not where:
            break
        name = draw(st.sampled_from(sorted(where)))
        action = draw(st.sampled_from(["replace", "drop", "flip", "truncate"]))
        value = where.get(name)
        if action == "replace":
            where[name] = draw(JSON)
        elif action == "drop":
            where.pop(name)
        elif isinstance(value, str) and value:
            i = draw(st.integers(0, len(value) - 1))
            if action == "flip":
                where[name] = value[:i] + draw(st.sampled_from("AZaz09-_=+/.")) + value[i + 1 :]
            else:
                where[name] = value[:i]
    if draw(st.integers(0, 9)) == 0:
        return json.dumps(doc)  # the JSON text form is accepted too
    return doc


def _only_auth_errors(call: Any, *args: Any) -> Any:
    with time_limit(5):
        try:
            return call(*args)
        except AuthError:
            return None


@SETTINGS
@given(data=st.data())
def test_passkey_sign_in_survives_arbitrary_json(target: Target, data: st.DataObject) -> None:
    value = data.draw(st.one_of(JSON, st.text(max_size=300), st.binary(max_size=300)))
    assert _only_auth_errors(target.service.login_with_passkey, value) is None


@SETTINGS
@given(data=st.data())
def test_passkey_sign_in_rejects_mutated_assertions(target: Target, data: st.DataObject) -> None:
    real = target.assertion()
    value = data.draw(mutated_response(real))
    tokens = _only_auth_errors(target.service.login_with_passkey, value)
    if tokens is not None:  # only cosmetic changes may pass, e.g. dropped optional fields
        assert tokens.user_id == "alice"


@SETTINGS
@given(data=st.data())
def test_passkey_registration_survives_mutated_responses(
    target: Target, data: st.DataObject
) -> None:
    options = target.service.register_passkey("bob", "bob@example.com")
    real = target.authenticator.create(options, keep=False)
    value = data.draw(st.one_of(JSON, mutated_response(real)))
    credential = _only_auth_errors(target.service.finish_passkey_registration, "bob", value)
    if credential is not None:
        assert credential.user_id == "bob"
