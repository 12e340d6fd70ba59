"""No secret in the ``repr`` of any public object.

``repr`` is what a traceback, a debugger, a ``logger.debug("%r", x)`` or an
error-tracking service shows. One scenario (password login, refresh, the
HTTP routes, a passkey ceremony) builds an instance of every public class of
the package; every ``repr`` is searched for the password, its hash, every
token (whole and signature alone), the cookie and ``Authorization`` values,
the signing key and the passkey challenge. A public class without a sample
here fails the test, so a new one cannot be forgotten.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import json
from pathlib import Path
from typing import Any

from conftest import CHEAP
from passkeys.softauthn import SoftAuthenticator
from secure_auth import KeySet, MemoryStore, SQLiteStore, SyncAuthService
from secure_auth.events import AuthEvent
from secure_auth.passkeys import (
    ChallengeRecord,
    parse_authentication_response,
    parse_registration_response,
)
from secure_auth.throttle import login_scopes
from secure_auth.web import AuthResult, Credential, Request, WebAuth, WebConfig, read_token

PUBLIC_MODULES = [
    "secure_auth",
    "secure_auth.config",
    "secure_auth.events",
    "secure_auth.keys",
    "secure_auth.models",
    "secure_auth.passkeys",
    "secure_auth.service",
    "secure_auth.stores",
    "secure_auth.sync",
    "secure_auth.throttle",
    "secure_auth.web",
    "secure_auth.integrations.asgi",
    "secure_auth.integrations.wsgi",
    "secure_auth.integrations.starlette",
    "secure_auth.integrations.flask",
    "secure_auth.integrations.aiohttp",
]
PASSWORD = "correct horse battery"
IP = "203.0.113.7"
RP_ID, ORIGIN = "app.example", "https://app.example"


def public_classes() -> set[type]:
    found: set[type] = set()
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if (
                inspect.isclass(obj)
                and not issubclass(obj, BaseException)  # errors: tests/test_web.py et al.
                and not getattr(obj, "_is_protocol", False)  # store protocols: no instances
            ):
                found.add(obj)
    return found


def _b64_of_raw_key(keys: KeySet) -> list[str]:
    from cryptography.hazmat.primitives import serialization

    raw = keys.signing_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return [
        raw.hex(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]


def scenario(keypair: tuple[bytes, bytes], tmp_path: Path) -> tuple[list[object], list[str]]:
    """(instances of the public classes, the secrets their reprs must not show)."""
    config = CHEAP.replace(rp_id=RP_ID, rp_name="Tests", expected_origins=(ORIGIN,))
    store = MemoryStore()
    keys = KeySet.from_pem(*keypair)
    events: list[AuthEvent] = []
    service = SyncAuthService(keys=keys, session_store=store, config=config, on_event=events.append)
    sqlite = SQLiteStore(tmp_path / "reprs.db")
    user = service.register_user({"id": "alice", "password": PASSWORD})
    users = {"alice": user}
    web = WebAuth(service, config=WebConfig(), get_user=users.get, get_user_name=lambda _: "alice")

    login_request = Request.build(
        "POST",
        {"Host": "app.example", "Origin": ORIGIN, "Content-Type": "application/json"},
        body=json.dumps({"login": "alice", "password": PASSWORD}).encode(),
    )
    login = web.handle_sync("login", login_request)
    tokens = json.loads(login.body)
    access, refresh = tokens["access_token"], tokens["refresh_token"]
    cookie_header = f"__Host-access_token={access}; __Secure-refresh_token={refresh}"
    signed_in = Request.build(
        "POST",
        {
            "Host": "app.example",
            "Origin": ORIGIN,
            "Cookie": cookie_header,
            "Authorization": f"Bearer {access}",
            "Proxy-Authorization": "Basic c2VjcmV0OnNlY3JldA==",
        },
        body=json.dumps({"refresh_token": refresh}).encode(),
    )
    refreshed = web.handle_sync("refresh", signed_in)
    result = web.resolve_sync(signed_in)
    credential = read_token(signed_in, web.config)
    assert isinstance(result, AuthResult) and isinstance(credential, Credential)
    auth_tokens = service.login(user, PASSWORD, ip_address=IP)
    session = service.validate_session(auth_tokens.access_token)
    claims = service.verify_token(auth_tokens.access_token)
    records = service.list_sessions("alice")

    authenticator = SoftAuthenticator(rp_id=RP_ID, origin=ORIGIN)
    options = service.register_passkey("alice", "alice")
    created = authenticator.create(options)
    attestation = parse_registration_response(created)
    passkey = service.finish_passkey_registration("alice", created)
    sign_in = authenticator.get(service.passkey_login_options())
    assertion = parse_authentication_response(sign_in)
    verification = service.verify_passkey(sign_in)
    record = ChallengeRecord("authentication", None, None, "preferred")

    samples: list[object] = [
        login_request,
        signed_in,
        login,
        refreshed,
        *login.cookies,
        *refreshed.cookies,
        result,
        credential,
        web,
        web.config,
        *web.endpoints,
        service,
        store,
        keys,
        config,
        config.throttle,
        config.throttle.account_ip,
        auth_tokens,
        session,
        claims,
        *records,
        *events,
        attestation,
        assertion,
        passkey,
        verification,
        record,
        *login_scopes(config.throttle, account="alice", ip_address=IP),
        sqlite,
        *_framework_samples(keypair, store, config),
    ]
    secrets = [PASSWORD, user["password"], user["password"].split("$")[-1], cookie_header]
    for token in (access, refresh, auth_tokens.access_token, auth_tokens.refresh_token):
        secrets += [token, token.rsplit(".", 1)[1]]
    secrets += json.loads(refreshed.body).get("access_token", "x" * 40), "c2VjcmV0OnNlY3JldA=="
    secrets += _b64_of_raw_key(keys)
    secrets += [
        base64.urlsafe_b64encode(attestation.challenge).decode().rstrip("="),
        base64.urlsafe_b64encode(assertion.challenge).decode().rstrip("="),
    ]
    return samples, secrets


def _framework_samples(keypair: tuple[bytes, bytes], store: Any, config: Any) -> list[object]:
    from aiohttp import web as aiohttp_web
    from flask import Flask

    from secure_auth import AuthService
    from secure_auth.integrations import aiohttp, asgi, flask, starlette, wsgi

    sync = SyncAuthService(*keypair, store, config=config)
    service = AuthService(*keypair, store, config=config)
    user = {"id": "u", "password": sync.hash_password(PASSWORD)}
    tokens = sync.login(user, PASSWORD, ip_address=IP)

    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
        pass

    auth = starlette.SecureAuth(service)
    samples: list[object] = [
        asgi.SecureAuthMiddleware(app, service),
        wsgi.SecureAuthMiddleware(lambda e, s: [], sync),
        auth,
        starlette.SecureAuthBackend(auth),
        service,
        starlette.SessionUser(sync.validate_session(tokens.access_token)),
        flask.SecureAuth(Flask(__name__), service=sync),
        aiohttp.SecureAuth(service),
    ]
    aiohttp_web.Application()  # importable: the adapter's samples are real
    for name in ("SecurityHeadersMiddleware",):
        for module in (asgi, wsgi):
            cls = getattr(module, name, None)
            if cls is not None:
                samples.append(cls(app if module is asgi else (lambda e, s: [])))
    return samples


def test_no_public_object_repr_leaks_a_secret(keypair: tuple[bytes, bytes], tmp_path: Path) -> None:
    samples, secrets = scenario(keypair, tmp_path)
    missing = public_classes() - {type(s) for s in samples}
    assert not missing, f"add a sample of {sorted(c.__qualname__ for c in missing)}"
    for sample in samples:
        text = repr(sample)
        for secret in secrets:
            assert secret not in text, f"repr of {type(sample).__qualname__} leaks a secret"
