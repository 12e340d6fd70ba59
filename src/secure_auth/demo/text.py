"""Words for people: error codes, notices, devices and times as the pages show them."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from secure_auth import AuthError

__all__ = [
    "ERRORS",
    "NOTICES",
    "describe_device",
    "error_text",
    "exact_date",
    "exact_time",
    "notice",
    "relative_time",
]

PASSWORD_MIN = 8

# Error code (AuthError.code and the web layer's codes) -> what the page says.
# The pages' script gets this table too, for the codes the /auth routes answer.
ERRORS: dict[str, str] = {
    "invalid_credentials": (
        "That login and password do not match an account. Check both and try again."
    ),
    "wrong_current_password": "Your current password is not right. Nothing was changed.",
    "password_policy": "That password is too long. Use at most 1024 characters.",
    "session_revoked": (
        "You were signed out: this session was ended, perhaps from another device."
    ),
    "refresh_reuse_detected": "You were signed out to protect your account. Please sign in again.",
    "session_expired": "Your session has expired. Please sign in again.",
    "session_invalid": "Your session has ended. Please sign in again.",
    "invalid_token": "Your session has ended. Please sign in again.",
    "token_expired": "Your session has expired. Please sign in again.",
    "authentication_required": "Please sign in to see this page.",
    "csrf_rejected": (
        "This request came from another site, so it was refused. Nothing was changed."
    ),
    "invalid_request": "The form was incomplete. Please try again.",
    "throttled": "Too many attempts. Please wait a moment and try again.",
    "store_unavailable": "The demo's database is not answering. Please try again in a moment.",
    "passkey_error": "The passkey could not be checked. Please try again.",
    "passkey_malformed": "The browser sent an unexpected passkey answer. Please try again.",
    "passkey_challenge_invalid": (
        "The passkey request expired or was already used. Please try again."
    ),
    "passkey_unsafe_key": "This passkey cannot be used with this site.",
    "passkey_already_registered": "This passkey is already registered.",
    "passkey_label_invalid": "Use 1 to 64 characters for the passkey name.",
    "passkey_unknown_credential": (
        "This passkey is not registered here. Use another passkey or your password."
    ),
    "passkey_user_mismatch": "This passkey belongs to another account.",
    # Every passkey sign-in failure past the challenge (an unknown or deleted
    # passkey, a bad signature...) is this one code at /auth/passkey/login.
    "passkey_verification_failed": (
        "The passkey was not accepted. Try again, or use another passkey or your password."
    ),
    "passkey_cross_origin": "The passkey could not be verified. Please try again.",
    "passkey_user_verification_required": (
        "Your device did not confirm it is you (PIN, fingerprint or face). Please try again."
    ),
    "passkey_sign_count_regression": (
        "This passkey was refused because it may have been copied. Use another way to sign in."
    ),
    "unsupported_by_store": "This feature is not available with the configured store.",
}
_FALLBACK = "Something went wrong. Please try again."

# Notices shown after a redirect: ?notice=<key>. Only these keys are shown,
# so a link cannot put arbitrary text on the page.
NOTICES: dict[str, tuple[str, str]] = {
    "welcome": ("success", "Welcome! Your account is ready and you are signed in."),
    "signed_in": ("success", "You are signed in."),
    "signed_out": ("success", "You are signed out."),
    "signed_out_everywhere": ("success", "You are signed out on every device."),
    "session_ended": ("error", ERRORS["session_revoked"]),
    "expired": ("error", ERRORS["session_expired"]),
    "sign_in_needed": ("info", ERRORS["authentication_required"]),
    "session_revoked": ("success", "That session is signed out."),
    "password_changed": (
        "success",
        "Your password is changed. Your other sessions were signed out.",
    ),
    "passkey_added": ("success", "Your passkey is added. You can now sign in with it."),
    "passkey_renamed": ("success", "The passkey is renamed."),
    "passkey_deleted": ("success", "The passkey is deleted. It can no longer sign you in."),
}


def error_text(error: AuthError | str) -> str:
    """What to tell a person for an error or an error code."""
    code = error if isinstance(error, str) else error.code
    return ERRORS.get(code, _FALLBACK)


def notice(key: str | None) -> tuple[str, str] | None:
    """``(kind, text)`` for a known notice key, else ``None``."""
    return NOTICES.get(key or "")


_BROWSERS = (
    ("Edge", re.compile(r"\bEdg(?:e|A|iOS)?/")),
    ("Opera", re.compile(r"\bOPR/")),
    ("Samsung Internet", re.compile(r"\bSamsungBrowser/")),
    ("Firefox", re.compile(r"\b(?:Firefox|FxiOS)/")),
    ("Chrome", re.compile(r"(?:\b|Headless)(?:Chrome|Chromium|CriOS)/")),
    ("Safari", re.compile(r"\bVersion/[\d.]+.*Safari/")),
)
_SYSTEMS = (
    ("iPhone", re.compile(r"\biPhone\b")),
    ("iPad", re.compile(r"\biPad\b")),
    ("Android", re.compile(r"\bAndroid\b")),
    ("ChromeOS", re.compile(r"\bCrOS\b")),
    ("Windows", re.compile(r"\bWindows\b")),
    ("macOS", re.compile(r"\bMac OS X\b|\bMacintosh\b")),
    ("Linux", re.compile(r"\bLinux\b")),
)


def describe_device(user_agent: str | None) -> str:
    """``"Chrome on Linux"`` from a User-Agent; a plain fallback when unknown."""
    if not user_agent:
        return "Unknown device"
    browser = next((name for name, rx in _BROWSERS if rx.search(user_agent)), None)
    system = next((name for name, rx in _SYSTEMS if rx.search(user_agent)), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or system or ""
    return user_agent[:40] + ("…" if len(user_agent) > 40 else "")


def exact_time(ts: float) -> str:
    """``27 Nov 2026, 14:02 UTC``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%d %b %Y, %H:%M UTC").lstrip("0")


def exact_date(ts: float) -> str:
    """``27 Nov 2026``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%d %b %Y").lstrip("0")


def iso_time(ts: float) -> str:
    """ISO 8601, for ``<time datetime>``."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def relative_time(ts: float | None, now: float | None = None) -> str:
    """``just now``, ``5 minutes ago``, ``3 hours ago``, else the date."""
    if ts is None:
        return "never"
    seconds = (time.time() if now is None else now) - ts
    if seconds < 60:
        return "just now"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = int(seconds // size)
            if unit == "day" and count > 6:
                break
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return exact_time(ts)
