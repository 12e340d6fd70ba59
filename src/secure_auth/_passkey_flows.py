"""Passkey flows: the WebAuthn ceremonies as generators, like those of ``_core``.

:class:`PasskeyFlows` is a mixin of :class:`~secure_auth._core.ServiceCore`.
Its flows decide nothing themselves: every check is a pure function of
:mod:`secure_auth.passkeys`; a flow only orders those checks with the store
calls (``challenges``: put/pop; ``passkeys``: the credential store) and the
audit events, so both faces run the very same sequence.

The order matters and is the same everywhere: parse the response (structure
only), *pop* its challenge (single use, even when a later check fails), bind
the challenge to this ceremony and user, then verify, then write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _core, passkeys
from ._throttle_flows import ThrottleFlows
from .errors import (
    ConfigurationError,
    PasskeyAlreadyRegistered,
    PasskeyError,
    SignCountRegression,
    UnknownCredential,
)
from .models import AuthTokens, PasskeyCredential
from .passkeys import AUTHENTICATION, REGISTRATION, ChallengeRecord, PasskeyVerification
from .throttle import passkey_scopes

if TYPE_CHECKING:
    from ._core import Flow

__all__ = ["PasskeyFlows"]


def _user_id(value: object) -> str:
    """The application's user id as the stores keep it: a non-empty string."""
    if value is None or isinstance(value, bool) or str(value) == "":
        raise ConfigurationError("a passkey operation needs a non-empty user_id")
    return str(value)


def _credential_id(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise UnknownCredential("credential id is empty or not a string")
    return value


class PasskeyFlows(ThrottleFlows):
    """The passkey flows. Mixed into ``ServiceCore``; not used directly.

    It builds on the throttling steps (failed assertions are counted per IP).
    """

    if TYPE_CHECKING:
        # Provided by ServiceCore.
        def _start_session_flow(
            self,
            user_id: str,
            auth_method: str,
            user_agent: str | None,
            ip_address: str | None,
        ) -> Flow[AuthTokens]: ...

    def _store_challenge(self, challenge: bytes, record: ChallengeRecord) -> _core.StoreCall:
        key = passkeys.challenge_key(challenge)
        expires_at = self._clock() + self.config.challenge_ttl
        return _core.StoreCall("challenges", "put_challenge", key, record.to_json(), expires_at)

    # -- registration ----------------------------------------------------------

    def _register_passkey_flow(
        self,
        user_id: object,
        user_name: str,
        display_name: str | None,
        *,
        resident_key: str | None,
        user_verification: str | None,
        attestation: str | None,
        authenticator_attachment: str | None,
    ) -> Flow[dict[str, Any]]:
        uid = _user_id(user_id)
        existing: list[PasskeyCredential] = yield _core.StoreCall("passkeys", "list_passkeys", uid)
        # One handle per user: reuse the one of the user's passkeys, so an
        # authenticator keeps one account entry per user, not one per passkey.
        handle = existing[0].user_handle if existing else passkeys.new_user_handle()
        challenge = passkeys.new_challenge()
        uv = user_verification or self.config.passkey_user_verification
        options = passkeys.registration_options(
            self.config,
            challenge=challenge,
            user_handle=handle,
            user_name=user_name,
            display_name=display_name,
            exclude=existing,
            resident_key=resident_key,
            user_verification=uv,
            attestation=attestation,
            authenticator_attachment=authenticator_attachment,
        )
        record = ChallengeRecord(REGISTRATION, uid, handle, uv)
        yield self._store_challenge(challenge, record)
        return options

    def _finish_passkey_registration_flow(
        self,
        user_id: object,
        response: object,
        *,
        label: str | None,
        user_agent: str | None,
        ip_address: str | None,
    ) -> Flow[PasskeyCredential]:
        uid = _user_id(user_id)
        clean = passkeys.clean_label(label) if label is not None else None
        parsed = passkeys.parse_registration_response(response)
        stored = yield _core.StoreCall(
            "challenges", "pop_challenge", parsed.challenge_key, self._clock()
        )
        record = passkeys.check_challenge(stored, ceremony=REGISTRATION, user_id=uid)
        passkeys.check_cross_origin(parsed, self.config)
        credential, fmt = passkeys.verify_registration(
            parsed, record, self.config, user_id=uid, now=self._clock(), label=clean
        )
        saved = yield _core.StoreCall("passkeys", "save_passkey", credential)
        if saved is not True:
            # Taken, by this user or another: never overwrite, never say whose.
            raise PasskeyAlreadyRegistered("credential id already stored")
        yield self._event(
            "passkey_registered",
            user_id=uid,
            ip_address=ip_address,
            user_agent=user_agent,
            credential_id=credential.credential_id,
            aaguid=credential.aaguid,
            attestation_format=fmt,
            backup_eligible=credential.backup_eligible,
        )
        return credential

    # -- sign-in ---------------------------------------------------------------

    def _passkey_login_options_flow(
        self, user_id: object | None, *, user_verification: str | None
    ) -> Flow[dict[str, Any]]:
        uid = None if user_id is None else _user_id(user_id)
        allow: list[PasskeyCredential] = []
        if uid is not None:
            allow = yield _core.StoreCall("passkeys", "list_passkeys", uid)
        challenge = passkeys.new_challenge()
        uv = user_verification or self.config.passkey_user_verification
        options = passkeys.authentication_options(
            self.config, challenge=challenge, allow=allow, user_verification=uv
        )
        yield self._store_challenge(challenge, ChallengeRecord(AUTHENTICATION, uid, None, uv))
        return options

    def _verify_passkey_flow(
        self,
        response: object,
        *,
        user_id: object | None,
        user_agent: str | None,
        ip_address: str | None,
    ) -> Flow[PasskeyVerification]:
        expected = None if user_id is None else _user_id(user_id)
        client = {"ip_address": ip_address, "user_agent": user_agent}
        owner: str | None = expected
        credential_id: str | None = None
        # Failed assertions are throttled per client IP, checked before any work.
        scopes = passkey_scopes(self.config.throttle, ip_address)
        if ip_address is None:
            self._warn_no_ip("passkey sign-in")
        started = self._clock()
        yield from self._throttle_check(
            scopes, started, operation="passkey", user_id=expected, client=client
        )
        try:
            parsed = passkeys.parse_authentication_response(response)
            credential_id = parsed.credential_id
            stored = yield _core.StoreCall(
                "challenges", "pop_challenge", parsed.challenge_key, self._clock()
            )
            record = passkeys.check_challenge(stored, ceremony=AUTHENTICATION)
            passkeys.check_cross_origin(parsed, self.config)
            credential: PasskeyCredential | None = yield _core.StoreCall(
                "passkeys", "get_passkey", parsed.credential_id
            )
            if credential is None:
                raise UnknownCredential(
                    "no passkey with this credential id", credential_id=parsed.credential_id
                )
            owner = credential.user_id
            try:
                result = passkeys.verify_assertion(
                    parsed, credential, record, self.config, expected_user_id=expected
                )
            except SignCountRegression as exc:
                yield self._event(
                    "sign_count_regression",
                    user_id=credential.user_id,
                    reason="possible_cloned_authenticator",
                    **client,
                    credential_id=exc.credential_id,
                    stored_sign_count=exc.stored_sign_count,
                    received_sign_count=exc.received_sign_count,
                )
                raise
        except PasskeyError as exc:
            yield self._event(
                "login_failed",
                user_id=owner,
                reason=exc.code,
                **client,
                method="passkey",
                credential_id=credential_id,
            )
            yield from self._throttle_failure(
                scopes, started, operation="passkey", user_id=owner, client=client
            )
            raise
        yield _core.StoreCall(
            "passkeys",
            "update_passkey_usage",
            result.credential_id,
            result.sign_count,
            result.backup_state,
            self._clock(),
        )
        yield self._event(
            "passkey_used",
            user_id=result.user_id,
            **client,
            credential_id=result.credential_id,
            sign_count=result.sign_count,
            user_verified=result.user_verified,
            backup_state=result.backup_state,
        )
        return result

    def _login_with_passkey_flow(
        self, response: object, *, user_agent: str | None, ip_address: str | None
    ) -> Flow[AuthTokens]:
        result = yield from self._verify_passkey_flow(
            response, user_id=None, user_agent=user_agent, ip_address=ip_address
        )
        tokens = yield from self._start_session_flow(
            result.user_id, "passkey", user_agent, ip_address
        )
        yield self._event(
            "login_succeeded",
            user_id=result.user_id,
            session_id=tokens.session_id,
            reason="passkey",
            ip_address=ip_address,
            user_agent=user_agent,
        )
        return tokens

    # -- management ------------------------------------------------------------

    def _list_passkeys_flow(self, user_id: object) -> Flow[list[PasskeyCredential]]:
        creds: list[PasskeyCredential] = yield _core.StoreCall(
            "passkeys", "list_passkeys", _user_id(user_id)
        )
        return creds

    def _rename_passkey_flow(self, user_id: object, credential_id: str, label: str) -> Flow[None]:
        uid, cid = _user_id(user_id), _credential_id(credential_id)
        clean = passkeys.clean_label(label)
        # The store changes the label only if the passkey is this user's.
        renamed = yield _core.StoreCall("passkeys", "rename_passkey", uid, cid, clean)
        if renamed is not True:
            raise UnknownCredential("no such passkey for this user", credential_id=cid)

    def _delete_passkey_flow(
        self,
        user_id: object,
        credential_id: str,
        *,
        user_agent: str | None,
        ip_address: str | None,
    ) -> Flow[None]:
        uid, cid = _user_id(user_id), _credential_id(credential_id)
        deleted = yield _core.StoreCall("passkeys", "delete_passkey", uid, cid)
        if deleted is not True:
            raise UnknownCredential("no such passkey for this user", credential_id=cid)
        yield self._event(
            "passkey_deleted",
            user_id=uid,
            ip_address=ip_address,
            user_agent=user_agent,
            credential_id=cid,
        )
