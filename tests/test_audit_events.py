"""Audit events: every operation reports who, what and from where, and never a secret.

One test drives every operation of the service (both faces, memory and
SQLite) with a recording hook, then searches the JSON of every event for
the passwords, the hashes, every token (and its signature alone) and the
private key in all its encodings.
"""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from conftest import CHEAP, Clock, Face, FaceFactory
from secure_auth import (
    AuthEvent,
    InvalidCredentials,
    InvalidToken,
    MemoryStore,
    RefreshReuseDetected,
    SQLiteStore,
    Throttled,
)
from secure_auth.events import EVENT_TYPES

IP, UA = "203.0.113.9", "Mozilla/5.0 (audit test)"
CLIENT = {"ip_address": IP, "user_agent": UA}
PASSWORD, NEW_PASSWORD = "correct horse battery", "new staple 2024!"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")


def key_material(private_pem: bytes) -> list[str]:
    key = serialization.load_pem_private_key(private_pem, None)
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    body = b"".join(private_pem.strip().splitlines()[1:-1]).decode()
    return [
        raw.hex(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        body,
        body[:40],
    ]


def secrets_of(tokens: list[Any]) -> list[str]:
    found = []
    for t in tokens:
        for token in (t.access_token, t.refresh_token):
            found += [token, token.rsplit(".", 1)[1]]
    return found


def run_everything(auth: Face, clock: Clock) -> tuple[list[str], list[Any]]:
    """Every password/session operation once, with the client's IP and UA."""
    alice = auth.register_user({"id": "alice", "login": "alice", "password": PASSWORD})
    issued = []
    with pytest.raises(InvalidCredentials):
        auth.login(alice, "not " + PASSWORD, **CLIENT)
    with pytest.raises(InvalidCredentials):
        auth.login(None, PASSWORD, account="nobody", **CLIENT)
    t1 = auth.login(alice, PASSWORD, account="alice", **CLIENT)
    issued.append(t1)
    auth.validate_session(t1.access_token)
    auth.verify_token(t1.access_token)
    t2 = auth.refresh(t1.refresh_token, **CLIENT)  # rotation
    t2b = auth.refresh(t1.refresh_token, **CLIENT)  # second tab, inside the grace window
    issued += [t2, t2b]
    with pytest.raises(InvalidToken):
        auth.refresh(t1.access_token, **CLIENT)
    clock.advance(CHEAP.refresh_grace_period + 1)
    with pytest.raises(RefreshReuseDetected):
        auth.refresh(t1.refresh_token, **CLIENT)  # replay: session revoked
    t3 = auth.login(alice, PASSWORD, **CLIENT)
    t4 = auth.login(alice, PASSWORD, **CLIENT)
    issued += [t3, t4]
    auth.list_sessions("alice")
    auth.logout(t3.session_id, **CLIENT)
    t5 = auth.login(alice, PASSWORD, **CLIENT)
    issued.append(t5)
    assert auth.logout_all("alice", except_session_id=t5.session_id, **CLIENT) == 1
    with pytest.raises(InvalidCredentials):
        auth.change_password(alice, "wrong " + PASSWORD, NEW_PASSWORD, lambda u, h: None, **CLIENT)
    new_hash = auth.change_password(
        alice, PASSWORD, NEW_PASSWORD, lambda u, h: None, keep_session_id=t5.session_id, **CLIENT
    )
    # Locked out after five failures: the throttled events.
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            auth.login({**alice, "password": new_hash}, PASSWORD, **CLIENT)
    for _ in range(2):
        with pytest.raises(Throttled):
            auth.login({**alice, "password": new_hash}, NEW_PASSWORD, **CLIENT)
    secrets = [PASSWORD, NEW_PASSWORD, alice["password"], new_hash]
    secrets += [h.split("$")[-1] for h in (alice["password"], new_hash)]  # digest
    secrets += [h.split("$")[-2] for h in (alice["password"], new_hash)]  # salt
    secrets.append(auth.service._hasher._dummy_hash)
    return secrets + secrets_of(issued), issued


def test_no_event_ever_carries_a_secret(
    make_face: FaceFactory, store: Any, keypair: tuple[bytes, bytes], clock: Clock
) -> None:
    events: list[AuthEvent] = []
    auth = make_face(store, on_event=events.append)
    secrets, _ = run_everything(auth, clock)
    secrets += key_material(keypair[0])
    assert len(events) > 20
    for event in events:
        text = json.dumps(event.to_json(), ensure_ascii=False)
        for secret in secrets:
            assert secret not in text, f"{event.type} leaks a secret"
        for name in event.detail:
            assert not any(w in name.lower() for w in ("password", "token", "hash", "secret"))


def test_every_event_says_who_and_from_where(make_face: FaceFactory, store: Any, clock) -> None:
    events: list[AuthEvent] = []
    auth = make_face(store, on_event=events.append)
    run_everything(auth, clock)
    kinds = {e.type for e in events}
    assert kinds <= EVENT_TYPES
    expected = {
        "login_failed",
        "login_succeeded",
        "session_created",
        "session_revoked",
        "refresh_rotated",
        "refresh_reuse_detected",
        "password_changed",
        "throttled",
    }
    assert expected <= kinds
    for e in events:
        assert (e.ip_address, e.user_agent) == (IP, UA), e.type
        if e.type != "login_failed" or e.reason != "unknown_user":
            assert e.user_id == "alice", e.type
        if e.type in {"login_succeeded", "session_created", "refresh_rotated"}:
            assert e.session_id, e.type
        if e.type == "login_failed":
            assert e.reason in {"wrong_password", "unknown_user"}
    revoked = [e for e in events if e.type == "session_revoked"]
    assert {e.reason for e in revoked} == {"refresh_reuse", "logout", "logout_all"}
    assert all(e.session_id for e in revoked if e.reason != "logout_all")


def test_default_hook_logs_structured_lines_without_secrets(
    make_face: FaceFactory, store: Any, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    auth = make_face(store, on_event=None)
    with caplog.at_level(logging.INFO, logger="secure_auth.audit"):
        secrets, _ = run_everything(auth, clock)
    records = [r for r in caplog.records if r.name == "secure_auth.audit"]
    assert records and all(isinstance(r.auth_event, dict) for r in records)  # type: ignore[attr-defined]
    dump = json.dumps([r.auth_event for r in records]) + caplog.text  # type: ignore[attr-defined]
    for secret in secrets:
        assert secret not in dump


def test_a_failing_hook_never_breaks_authentication(make_face: FaceFactory, store: Any) -> None:
    def broken(event: AuthEvent) -> None:
        raise RuntimeError("audit sink down")

    auth = make_face(store, on_event=broken)
    alice = auth.register_user({"id": "alice", "password": PASSWORD})
    tokens = auth.login(alice, PASSWORD, **CLIENT)
    assert auth.validate_session(tokens.access_token).user_id == "alice"
