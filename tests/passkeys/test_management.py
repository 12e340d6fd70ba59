"""Passkey management: list, rename, delete, each scoped to its owner."""

from __future__ import annotations

from typing import Any

import pytest

from secure_auth import InvalidPasskeyLabel, UnknownCredential

from .conftest import ORIGIN, RP_ID, of_type, register
from .softauthn import SoftAuthenticator


@pytest.fixture
def two_users(service: Any, clock: Any) -> dict[str, Any]:
    devices = {u: SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN) for u in ("alice", "bob")}
    creds = {}
    for user, device in devices.items():
        creds[user] = register(service, device, user, label=f"{user}'s phone")
        clock.advance(1)
    creds["alice2"] = register(service, devices["alice"], "alice", label="laptop")
    return {"creds": creds, "devices": devices}


def test_list_passkeys_shows_only_the_users_own_oldest_first(
    service: Any, two_users: dict[str, Any]
) -> None:
    creds = two_users["creds"]
    assert service.list_passkeys("alice") == [creds["alice"], creds["alice2"]]
    assert service.list_passkeys("bob") == [creds["bob"]]
    assert service.list_passkeys("carol") == []


def test_user_renames_their_passkey(service: Any, two_users: dict[str, Any]) -> None:
    cred = two_users["creds"]["alice"]
    service.rename_passkey("alice", cred.credential_id, " Work laptop ")
    assert service.list_passkeys("alice")[0].label == "Work laptop"
    coder = "\U0001f469\u200d\U0001f4bb phone"  # an emoji with a zero-width joiner
    service.rename_passkey("alice", cred.credential_id, coder)
    assert service.list_passkeys("alice")[0].label == coder


def test_nobody_can_rename_another_users_passkey(service: Any, two_users: dict[str, Any]) -> None:
    bobs = two_users["creds"]["bob"]
    with pytest.raises(UnknownCredential) as info:
        service.rename_passkey("alice", bobs.credential_id, "mine now")
    assert info.value.credential_id == bobs.credential_id
    assert service.list_passkeys("bob")[0].label == "bob's phone"


@pytest.mark.parametrize("label", ["", "  ", "x" * 65, "new\nline", "\u202egnp.exe", "\ud800", 5])
def test_bad_label_is_refused(service: Any, two_users: dict[str, Any], label: Any) -> None:
    cred = two_users["creds"]["alice"]
    with pytest.raises(InvalidPasskeyLabel):
        service.rename_passkey("alice", cred.credential_id, label)
    assert service.list_passkeys("alice")[0].label == "alice's phone"


def test_user_deletes_their_passkey_and_it_stops_working(
    service: Any, two_users: dict[str, Any], events: list[Any]
) -> None:
    cred = two_users["creds"]["alice"]
    service.delete_passkey("alice", cred.credential_id, ip_address="198.51.100.7")
    assert service.list_passkeys("alice") == [two_users["creds"]["alice2"]]
    [event] = of_type(events, "passkey_deleted")
    assert (event.user_id, event.detail["credential_id"]) == ("alice", cred.credential_id)
    assert event.ip_address == "198.51.100.7"
    device = two_users["devices"]["alice"]
    response = device.get(service.passkey_login_options(), credential=device.credentials[0])
    with pytest.raises(UnknownCredential):
        service.login_with_passkey(response)
    options = service.register_passkey("alice", "alice")
    assert [c["id"] for c in options["excludeCredentials"]] == [
        two_users["creds"]["alice2"].credential_id
    ]


def test_nobody_can_delete_another_users_passkey(
    service: Any, two_users: dict[str, Any], events: list[Any]
) -> None:
    bobs = two_users["creds"]["bob"]
    with pytest.raises(UnknownCredential):
        service.delete_passkey("alice", bobs.credential_id)
    assert service.list_passkeys("bob") == [bobs]
    assert of_type(events, "passkey_deleted") == []


@pytest.mark.parametrize("credential_id", ["", "no-such-id", None])
def test_deleting_an_unknown_passkey_is_a_clear_error(
    service: Any, two_users: dict[str, Any], credential_id: Any
) -> None:
    with pytest.raises(UnknownCredential):
        service.delete_passkey("alice", credential_id)
    assert len(service.list_passkeys("alice")) == 2
