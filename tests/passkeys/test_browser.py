"""Passkeys in a real browser: Chromium, a CDP virtual authenticator, the
shipped ``passkeys.js`` and a tiny Starlette app on ``http://localhost``;
then the same module with its defaults against the ready-made routes of the
Starlette integration (``secure_auth.web``).

One Chromium, one page per module; each test gets a freshly loaded page and
its own virtual authenticator (CTAP2, internal, resident keys, user
verification, presence simulated), removed again afterwards. The app is the
one docs/passkeys.md describes, cut to what the tests need. The sync
Playwright API runs inside plain tests, so it never meets pytest-asyncio's
event loop.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import CHEAP, skip_or_fail
from secure_auth import AuthError, AuthService, MemoryStore
from secure_auth.passkeys import javascript_path

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIRTUAL_AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>passkeys</title>
<input id="username" autocomplete="username webauthn">
<script type="module">
  import * as passkeys from "/static/passkeys.js";
  window.passkeys = passkeys;
  window.ready = true;
</script>
"""


# -- the app -----------------------------------------------------------------------


def build_app(auth: AuthService) -> Any:
    """The Starlette app of docs/passkeys.md, trimmed: the user name stands in
    for the signed-in user at registration (a real app takes it from its
    session)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

    def user_id_of(name: str) -> str:
        return f"user:{name}"

    async def index(request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def script(request: Request) -> Response:
        return Response(javascript_path().read_bytes(), media_type="text/javascript")

    async def register_options(request: Request) -> Response:
        body = await request.json()
        options = await auth.register_passkey(user_id_of(body["username"]), body["username"])
        return JSONResponse(options)

    async def register_verify(request: Request) -> Response:
        body = await request.json()
        credential = await auth.finish_passkey_registration(
            user_id_of(body["username"]), body["credential"], label=body.get("label")
        )
        return JSONResponse({"credential_id": credential.credential_id, "label": credential.label})

    async def login_options(request: Request) -> Response:
        body = await request.json()
        name = body.get("username")
        options = await auth.passkey_login_options(user_id_of(name) if name else None)
        return JSONResponse(options)

    async def login_verify(request: Request) -> Response:
        tokens = await auth.login_with_passkey(
            await request.body(), user_agent=request.headers.get("user-agent")
        )
        info = await auth.validate_session(tokens.access_token)
        return JSONResponse({"user_id": info.user_id, "auth_method": info.auth_method})

    async def auth_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AuthError)
        return JSONResponse(
            {"error": exc.code, "message": exc.public_message}, status_code=exc.status
        )

    return Starlette(
        routes=[
            Route("/", index),
            Route("/static/passkeys.js", script),
            Route("/passkeys/register/options", register_options, methods=["POST"]),
            Route("/passkeys/register/verify", register_verify, methods=["POST"]),
            Route("/passkeys/login/options", login_options, methods=["POST"]),
            Route("/passkeys/login/verify", login_verify, methods=["POST"]),
        ],
        exception_handlers={AuthError: auth_error},
    )


@dataclass
class Site:
    url: str
    store: MemoryStore


@contextlib.contextmanager
def serve(make_app: Callable[[AuthService], Any], keypair: tuple[bytes, bytes]) -> Iterator[Site]:
    """Run ``make_app(service)`` with uvicorn on a free localhost port."""
    try:
        import uvicorn
    except ImportError:
        skip_or_fail("uvicorn and starlette are needed for the browser tests")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    url = f"http://localhost:{port}"  # rp id "localhost": a secure context over http
    store = MemoryStore()
    config = CHEAP.replace(rp_id="localhost", rp_name="secure-auth", expected_origins=(url,))
    auth = AuthService(keypair[0], keypair[1], store, config=config)
    server = uvicorn.Server(
        uvicorn.Config(make_app(auth), log_level="warning", lifespan="off", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start")
        time.sleep(0.01)
    try:
        yield Site(url, store)
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


@pytest.fixture(scope="module")
def site(keypair: tuple[bytes, bytes]) -> Iterator[Site]:
    with serve(build_app, keypair) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
    finally:
        playwright.stop()


@dataclass
class Tab:
    page: Any
    cdp: Any
    authenticator_id: str

    def run(self, script: str, arg: Any = None) -> Any:
        """Evaluate an async function body with ``passkeys`` and ``arg`` in scope."""
        return self.page.evaluate(
            f"async (arg) => {{ const passkeys = window.passkeys; {script} }}", arg
        )

    def stored_credentials(self) -> list[dict[str, Any]]:
        result = self.cdp.send(
            "WebAuthn.getCredentials", {"authenticatorId": self.authenticator_id}
        )
        return list(result["credentials"])


@pytest.fixture(scope="module")
def page(browser: Any) -> Iterator[tuple[Any, Any]]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    yield page, cdp
    context.close()


@contextlib.contextmanager
def open_tab(page: tuple[Any, Any], url: str) -> Iterator[Tab]:
    """A freshly loaded page (the module's state reset) with a new authenticator."""
    browser_page, cdp = page
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_AUTHENTICATOR})
    try:
        browser_page.goto(url)
        browser_page.wait_for_function("window.ready === true")
        yield Tab(browser_page, cdp, added["authenticatorId"])
    finally:
        cdp.send(
            "WebAuthn.removeVirtualAuthenticator", {"authenticatorId": added["authenticatorId"]}
        )


@pytest.fixture
def tab(page: tuple[Any, Any], site: Site) -> Iterator[Tab]:
    with open_tab(page, site.url + "/") as opened:
        yield opened


# Registration and sign-in as an app page would write them.
REGISTER = """
  return passkeys.registerPasskey({
    optionsUrl: "/passkeys/register/options",
    verifyUrl: "/passkeys/register/verify",
    data: { username: arg.username },
    buildBody: (credential) => ({ username: arg.username, label: arg.label, credential }),
  });
"""
SIGN_IN = """
  return passkeys.signInWithPasskey({
    optionsUrl: "/passkeys/login/options",
    verifyUrl: "/passkeys/login/verify",
    data: arg.username ? { username: arg.username } : {},
  });
"""


def register(tab: Tab, username: str, label: str = "This browser") -> dict[str, Any]:
    result: dict[str, Any] = tab.run(REGISTER, {"username": username, "label": label})
    return result


# -- the tests ------------------------------------------------------------------------


def test_register_a_passkey(tab: Tab, site: Site) -> None:
    result = register(tab, "ada", label="Laptop")
    [stored] = site.store.list_passkeys("user:ada")
    assert result == {"credential_id": stored.credential_id, "label": "Laptop"}
    [held] = tab.stored_credentials()
    assert held["isResidentCredential"] is True
    assert held["credentialId"].rstrip("=").replace("+", "-").replace("/", "_") == (
        stored.credential_id
    )
    assert stored.transports == ("internal",)
    assert stored.user_handle != "user:ada"


def test_sign_in_with_a_user_name(tab: Tab, site: Site) -> None:
    register(tab, "grace")
    options = tab.run(
        'return passkeys.postJSON("/passkeys/login/options", {username: arg});', "grace"
    )
    [stored] = site.store.list_passkeys("user:grace")
    assert [c["id"] for c in options["allowCredentials"]] == [stored.credential_id]
    result = tab.run(SIGN_IN, {"username": "grace"})
    assert result == {"user_id": "user:grace", "auth_method": "passkey"}
    [used] = site.store.list_passkeys("user:grace")
    assert used.last_used_at is not None


def test_sign_in_usernameless(tab: Tab, site: Site) -> None:
    register(tab, "linus")
    options = tab.run('return passkeys.postJSON("/passkeys/login/options", {});')
    assert options["allowCredentials"] == []
    result = tab.run(SIGN_IN, {})
    assert result == {"user_id": "user:linus", "auth_method": "passkey"}


def test_replayed_assertion_is_rejected(tab: Tab, site: Site) -> None:
    register(tab, "barbara")
    outcome = tab.run(
        """
        const options = await passkeys.postJSON("/passkeys/login/options", {username: arg});
        const assertion = await passkeys.getPasskey(options);
        const first = await passkeys.postJSON("/passkeys/login/verify", assertion);
        try {
          await passkeys.postJSON("/passkeys/login/verify", assertion);
          return { first, second: "accepted" };
        } catch (error) {
          return { first, second: { status: error.status, body: error.body } };
        }
        """,
        "barbara",
    )
    assert outcome["first"]["user_id"] == "user:barbara"
    assert outcome["second"]["status"] == 400
    assert outcome["second"]["body"]["error"] == "passkey_challenge_invalid"


def test_module_works_without_the_browsers_json_helpers(tab: Tab, site: Site) -> None:
    # Older browsers lack parse*OptionsFromJSON and toJSON(): the base64url
    # fallback must produce what the server accepts. (The next test reloads
    # the page, which brings them back.)
    missing = tab.run(
        """
        delete PublicKeyCredential.parseCreationOptionsFromJSON;
        delete PublicKeyCredential.parseRequestOptionsFromJSON;
        delete PublicKeyCredential.prototype.toJSON;
        return [typeof PublicKeyCredential.parseCreationOptionsFromJSON,
                typeof PublicKeyCredential.parseRequestOptionsFromJSON,
                typeof PublicKeyCredential.prototype.toJSON];
        """
    )
    assert missing == ["undefined"] * 3
    register(tab, "margaret")
    assert site.store.list_passkeys("user:margaret")
    assert tab.run(SIGN_IN, {}) == {"user_id": "user:margaret", "auth_method": "passkey"}


def test_sign_in_through_passkey_autofill(tab: Tab, site: Site) -> None:
    # Conditional mediation: the virtual authenticator answers at once,
    # where a person would pick the passkey from the username field's list.
    register(tab, "katherine")
    available = tab.run("return passkeys.isConditionalMediationAvailable();")
    assert available is True
    result = tab.run(
        """
        return passkeys.signInWithPasskey({
          optionsUrl: "/passkeys/login/options",
          verifyUrl: "/passkeys/login/verify",
          mediation: "conditional",
        });
        """
    )
    assert result == {"user_id": "user:katherine", "auth_method": "passkey"}


def test_pending_autofill_request_yields_to_a_modal_ceremony(tab: Tab, site: Site) -> None:
    # An autofill request waits until the person picks a passkey; a click on
    # "Create a passkey" must cancel it (one pending WebAuthn request per page)
    # rather than fail. The person who never picks is played by a stub that
    # only ever ends on abort; every other request goes to the authenticator.
    outcome = tab.run(
        """
        const realGet = navigator.credentials.get.bind(navigator.credentials);
        navigator.credentials.get = (request) => request.mediation !== "conditional"
          ? realGet(request)
          : new Promise((_, reject) => request.signal.addEventListener(
              "abort", () => reject(request.signal.reason), { once: true }));
        const options = await passkeys.postJSON("/passkeys/login/options", {});
        const pending = passkeys.getPasskey(options, { mediation: "conditional" });
        const registered = await passkeys.registerPasskey({
          optionsUrl: "/passkeys/register/options",
          verifyUrl: "/passkeys/register/verify",
          data: { username: arg },
          buildBody: (credential) => ({ username: arg, credential }),
        });
        const timeout = new Promise((resolve) => setTimeout(() => resolve("still pending"), 2000));
        const settled = await Promise.race([pending, timeout]);
        const signedIn = await passkeys.signInWithPasskey({
          optionsUrl: "/passkeys/login/options",
          verifyUrl: "/passkeys/login/verify",
        });
        return { settled, registered, signedIn };
        """,
        "dorothy",
    )
    assert outcome["settled"] is None
    [stored] = site.store.list_passkeys("user:dorothy")
    assert outcome["registered"]["credential_id"] == stored.credential_id
    assert outcome["signedIn"] == {"user_id": "user:dorothy", "auth_method": "passkey"}


def test_server_errors_reach_the_page_as_codes(tab: Tab, site: Site) -> None:
    outcome = tab.run(
        """
        try {
          await passkeys.postJSON("/passkeys/login/verify", { id: "x" });
        } catch (error) {
          return { name: error.name, status: error.status, body: error.body };
        }
        """
    )
    assert outcome == {
        "name": "PasskeyRequestError",
        "status": 400,
        "body": {"error": "passkey_malformed", "message": "The passkey could not be verified."},
    }
    json.dumps(outcome)


# -- the ready-made routes of the framework integrations -----------------------------

ROUTES_PAGE = """<!doctype html>
<meta charset="utf-8">
<title>passkey routes</title>
<script type="module">
  import * as passkeys from "/auth/passkeys.js";
  window.passkeys = passkeys;
  window.ready = true;
</script>
"""


def build_routes_app(service: AuthService) -> Any:
    """A Starlette app that only mounts the integration: every auth route,
    ``passkeys.js`` included, comes from ``secure_auth.web``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

    from secure_auth.integrations.starlette import SecureAuth
    from secure_auth.passwords import PasswordHasher
    from secure_auth.web import WebConfig

    users = {"ada": {"id": "u1", "password": PasswordHasher(CHEAP).hash("pw")}}

    def user_name(user_id: str) -> str | None:
        return next((login for login, u in users.items() if u["id"] == user_id), None)

    auth = SecureAuth(
        service,
        get_user=users.get,
        get_user_name=user_name,
        config=WebConfig(secure=False),  # http://localhost
    )

    async def index(request: Request) -> Response:
        return HTMLResponse(ROUTES_PAGE)

    async def me(request: Request) -> Response:
        session = request.state.auth_session
        return JSONResponse({"user_id": session.user_id, "auth_method": session.auth_method})

    app = Starlette(routes=[Route("/", index), Route("/me", auth.login_required(me))])
    auth.init_app(app)
    return app


@pytest.fixture(scope="module")
def routes_site(keypair: tuple[bytes, bytes]) -> Iterator[Site]:
    with serve(build_routes_app, keypair) as running:
        yield running


def test_the_integration_routes_with_the_modules_defaults(
    page: tuple[Any, Any], routes_site: Site
) -> None:
    with open_tab(page, routes_site.url + "/") as routes_tab:
        outcome = routes_tab.run(
            """
            await passkeys.postJSON("/auth/login", { login: "ada", password: "pw" });
            const added = await passkeys.registerPasskey({
              buildBody: (credential) => ({ ...credential, label: "Laptop" }),
            });
            const listed = await (await fetch("/auth/passkeys")).json();
            const signedOut = (await fetch("/auth/logout", { method: "POST" })).status;
            const anonymous = (await fetch("/me")).status;
            const signedIn = await passkeys.signInWithPasskey();
            const me = await (await fetch("/me")).json();
            return { added, listed, signedOut, anonymous, signedIn, me };
            """
        )
        [stored] = routes_site.store.list_passkeys("u1")
    assert outcome["added"]["id"] == stored.credential_id
    assert outcome["added"]["label"] == "Laptop"
    assert [p["id"] for p in outcome["listed"]["passkeys"]] == [stored.credential_id]
    assert (outcome["signedOut"], outcome["anonymous"]) == (204, 401)
    assert outcome["signedIn"]["user_id"] == "u1"
    assert outcome["me"] == {"user_id": "u1", "auth_method": "passkey"}
