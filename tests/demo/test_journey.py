"""The newcomer's journey through the demo, in a real Chromium.

One browser for the module; the CDP virtual authenticator stands in for a
fingerprint reader, so passkeys are created and used for real (WebAuthn in
the browser, py_webauthn on the server). On failure every open page is saved
as a PNG under ``test-output/demo-journey/`` and the path is in the message.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from conftest import ROOT, skip_or_fail

from .conftest import LiveServer

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("SECURE_AUTH_CHROMIUM", "/usr/bin/chromium")
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
OUTPUT = ROOT / "test-output" / "demo-journey"
PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"
)
LOGIN = "ada"
FIRST_PASSWORD = "analytical engine 1843"
NEW_PASSWORD = "notes on the engine G"

# The virtual authenticator answers a conditional (autofill) request at once,
# where a person would first pick the passkey in the login field. So autofill
# is reported unavailable, as in a browser without it, unless a step turns it on.
AUTOFILL_SWITCH = """
if (window.PublicKeyCredential && localStorage.getItem("journey:autofill") !== "on") {
  Object.defineProperty(PublicKeyCredential, "isConditionalMediationAvailable", {
    value: async () => false, configurable: true,
  });
}
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole module (Debian's; never downloaded)."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        skip_or_fail(f"Chromium is missing at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the Python package playwright is missing (the [dev] extra)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class Journey:
    """Open pages, the step being run, and what to save when a step fails."""

    def __init__(self, browser: Any, server: LiveServer) -> None:
        self.browser = browser
        self.url = server.url
        self.pages: dict[str, Any] = {}
        self.contexts: list[Any] = []
        self.problems: list[str] = []

    def open(self, name: str, **options: Any) -> Any:
        context = self.browser.new_context(base_url=self.url, **options)
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()

        def on_console(message: Any) -> None:
            text = message.text
            if "Content Security Policy" in text or (
                message.type == "error" and "Uncaught" in text
            ):
                self.problems.append(f"{name}: console: {text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.problems.append(f"{name}: {error}"))
        self.pages[name] = page
        return page

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
            print(f"{time.monotonic() - started:6.2f}s  {title}")
        except Exception as exc:
            saved = self.screenshots(title)
            raise AssertionError(
                f"journey step failed: {title}\n{exc}\nscreenshots: {saved}\n"
                f"page problems: {self.problems}"
            ) from exc

    def screenshots(self, title: str) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        OUTPUT.mkdir(parents=True, exist_ok=True)
        for name, page in self.pages.items():
            with contextlib.suppress(Exception):
                page.screenshot(path=str(OUTPUT / f"{slug}--{name}.png"), full_page=True)
        return str(OUTPUT)

    def close(self) -> None:
        for context in self.contexts:
            with contextlib.suppress(Exception):
                context.close()


def at(path: str) -> re.Pattern[str]:
    """The page's whole URL is this path (a regex) on the demo server."""
    path = path.removeprefix("/").removesuffix("$")
    return re.compile(rf"^http://localhost:\d+/{path}$")


def add_virtual_authenticator(page: Any) -> Any:
    """A platform authenticator (like Touch ID) that always says yes."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def sign_in_with_password(page: Any, login: str, password: str) -> None:
    page.goto("/signin")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def sign_out(page: Any) -> None:
    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    page.wait_for_url(at(r"/signin\?notice=signed_out$"))
    assert "You are signed out." in page.get_by_role("status").first.inner_text()


def test_newcomer_journey(browser: Any, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    journey = Journey(browser, live_server)
    try:
        laptop = journey.open("laptop", viewport={"width": 1280, "height": 900})
        laptop.add_init_script(AUTOFILL_SWITCH)
        cdp, authenticator = add_virtual_authenticator(laptop)

        with journey.step("1. sign up, then sign out"):
            laptop.goto("/")
            laptop.get_by_role("link", name="Create an account").click()
            laptop.get_by_label("Login").fill(LOGIN)
            laptop.get_by_label("Password").fill(FIRST_PASSWORD)
            laptop.get_by_role("button", name="Create account").click()
            laptop.wait_for_url(at(r"/account\?notice=welcome$"))
            expect(laptop.get_by_test_id("login")).to_have_text(LOGIN)
            sign_out(laptop)

        with journey.step("2. sign in with the password, from the keyboard"):
            laptop.goto("/signin")
            expect(laptop.get_by_label("Login")).to_be_focused()
            laptop.keyboard.type(LOGIN)
            laptop.keyboard.press("Tab")
            expect(laptop.get_by_label("Password")).to_be_focused()
            laptop.keyboard.type(FIRST_PASSWORD)
            laptop.keyboard.press("Enter")
            laptop.wait_for_url(at(r"/account$"))
            expect(laptop.get_by_test_id("auth-method")).to_have_text("your password")

        with journey.step("2b. the access cookie expires; the refresh cookie renews it"):
            laptop.context.clear_cookies(name="access_token")
            with laptop.expect_response(at(r"/auth/refresh")) as renewal:
                laptop.goto("/account")  # -> /auth/refresh/continue, whose script POSTs
            assert renewal.value.request.method == "POST" and renewal.value.status == 200
            laptop.wait_for_url(at(r"/account$"))
            expect(laptop.get_by_test_id("login")).to_have_text(LOGIN)
            names = {c["name"] for c in laptop.context.cookies()}
            assert names == {"access_token", "refresh_token"}

        with journey.step("3. add a passkey (after the access cookie expired), then sign out"):
            laptop.context.clear_cookies(name="access_token")  # idle on the page too long
            posts: list[tuple[str, int]] = []

            def on_response(response: Any) -> None:
                if response.request.method == "POST":
                    posts.append((urlsplit(response.url).path, response.status))

            laptop.on("response", on_response)
            laptop.get_by_role("button", name="Add a passkey").click()
            laptop.wait_for_url(at(r"/account\?notice=passkey_added#passkeys"))
            laptop.remove_listener("response", on_response)
            assert posts == [  # the library's routes; one renewal, then the ceremony
                ("/auth/passkey/register/options", 401),
                ("/auth/refresh", 200),
                ("/auth/passkey/register/options", 200),
                ("/auth/passkey/register", 201),
            ]
            passkeys = laptop.get_by_test_id("passkey-list").get_by_role("listitem")
            expect(passkeys).to_have_count(1)
            expect(passkeys).to_contain_text("Chrome on Linux")  # named after the device
            stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
            assert len(stored["credentials"]) == 1
            assert stored["credentials"][0]["isResidentCredential"] is True
            sign_out(laptop)

        with journey.step("4. sign in with the passkey, no login typed"):
            with laptop.expect_response(at(r"/auth/passkey/login")) as answer:
                laptop.get_by_role("button", name="Sign in with a passkey").click()
            assert answer.value.status == 200
            laptop.wait_for_url(at(r"/account$"))
            expect(laptop.get_by_test_id("auth-method")).to_have_text("a passkey")
            expect(laptop.get_by_test_id("passkey-list")).not_to_contain_text("Last used never")
            sign_out(laptop)

        with journey.step("4b. sign in with the passkey from the login field's autofill"):
            laptop.evaluate("localStorage.setItem('journey:autofill', 'on')")
            laptop.goto("/signin")  # the page asks for a passkey with mediation: conditional
            laptop.wait_for_url(at(r"/account$"))
            expect(laptop.get_by_test_id("auth-method")).to_have_text("a passkey")
            laptop.evaluate("localStorage.removeItem('journey:autofill')")

        with journey.step("5. sign in again from a second browser"):
            phone = journey.open(
                "phone", viewport={"width": 390, "height": 844}, user_agent=PHONE_UA
            )
            sign_in_with_password(phone, LOGIN, FIRST_PASSWORD)
            phone.wait_for_url(at(r"/account$"))
            expect(phone.locator("[data-session]")).to_have_count(2)

        with journey.step("6. end the second session from the first"):
            laptop.reload()
            other = laptop.locator('[data-session="other"]')
            expect(other).to_have_count(1)
            expect(other).to_contain_text("Safari on iPhone")
            other.get_by_role("button", name=re.compile("^End session")).click()
            laptop.wait_for_url(at(r"/account\?notice=session_revoked#sessions"))
            expect(laptop.locator("[data-session]")).to_have_count(1)
            phone.reload()
            phone.wait_for_url(at(r"/signin\?notice=session_ended$"))
            expect(phone.get_by_role("alert")).to_contain_text("this session was ended")

        with journey.step("7. change the password; the old one stops working"):
            laptop.get_by_label("Current password").fill(FIRST_PASSWORD)
            laptop.get_by_label("New password").fill(NEW_PASSWORD)
            laptop.get_by_role("button", name="Change password").click()
            laptop.wait_for_url(at(r"/account\?notice=password_changed#password"))
            expect(laptop.get_by_role("status").first).to_contain_text("password is changed")
            sign_out(laptop)
            sign_in_with_password(laptop, LOGIN, FIRST_PASSWORD)
            expect(laptop.get_by_role("alert")).to_contain_text("do not match an account")
            assert laptop.url.endswith("/signin")
            sign_in_with_password(laptop, LOGIN, NEW_PASSWORD)
            laptop.wait_for_url(at(r"/account$"))

        with journey.step("8. rename the passkey, delete it; it signs in no more"):
            passkeys = laptop.get_by_test_id("passkey-list")
            passkeys.get_by_label(re.compile("^New name for passkey")).fill("Work laptop")
            passkeys.get_by_role("button", name="Rename").click()
            laptop.wait_for_url(at(r"/account\?notice=passkey_renamed#passkeys"))
            expect(passkeys).to_contain_text("Work laptop")
            laptop.once("dialog", lambda dialog: dialog.accept())  # "Delete the passkey...?"
            passkeys.get_by_role("button", name=re.compile("^Delete")).click()
            laptop.wait_for_url(at(r"/account\?notice=passkey_deleted#passkeys"))
            expect(laptop.get_by_text("You have no passkeys yet.")).to_be_visible()
            sign_out(laptop)
            laptop.get_by_role("button", name="Sign in with a passkey").click()
            expect(laptop.get_by_role("status").last).to_have_text(
                "The passkey was not accepted. Try again, or use another passkey or your password."
            )
            assert laptop.url.endswith("/signin?notice=signed_out")

        with journey.step("no script or policy errors on any page"):
            assert journey.problems == []
    finally:
        journey.close()
