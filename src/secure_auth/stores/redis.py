"""Redis store: sessions, challenges and passkeys for many app servers.

:class:`RedisStore` takes a blocking client (``redis.Redis`` or
``redis.cluster.RedisCluster``), :class:`AsyncRedisStore` an asyncio one
(``redis.asyncio.Redis`` or ``redis.asyncio.cluster.RedisCluster``). Both
implement :class:`~secure_auth.stores.base.SessionStore`,
:class:`~secure_auth.stores.base.ChallengeStore`,
:class:`~secure_auth.stores.base.PasskeyStore` and
:class:`~secure_auth.stores.base.ThrottleStore` in their form.

The logic is written once, free of I/O: every operation is a generator
(a *plan*) that yields the Redis steps it needs and receives their replies.
The two classes only drive plans, one with calls, one with ``await``.

Key layout (``docs/redis.md`` explains the choice)::

    <prefix>:session:{<h(session_id)>}          string (JSON), one session, native TTL
    <prefix>:user:{<h(user_id)>}:sessions       sorted set, the user's session ids
    <prefix>:user:{<h(user_id)>}:passkeys       set, the user's credential ids
    <prefix>:passkey:{<h(credential_id)>}       string (JSON), one credential
    <prefix>:challenge:{<h(key)>}               string, single-use, native TTL

``h`` is the base64url form of the first 16 bytes of SHA-256: no caller
input ever reaches a key name, so braces, colons, globs or 10 kB ids cannot
break the layout or move a key to another Cluster slot. Each step of every
operation touches one hash slot only, so the same code runs on one node and
on Redis Cluster.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, Self, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

try:
    import redis
    import redis.asyncio
    import redis.asyncio.cluster
    import redis.cluster
    from redis.exceptions import NoScriptError, RedisClusterException, RedisError
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "secure_auth.stores.redis needs redis-py, an optional extra: "
        "pip install 'secure-auth[redis]'"
    ) from exc

from ..errors import ConfigurationError, StoreUnavailable
from ..models import PasskeyCredential, SessionRecord

__all__ = [
    "DEFAULT_PREFIX",
    "AsyncRedisSessionStore",
    "AsyncRedisStore",
    "RedisSessionStore",
    "RedisStore",
]

DEFAULT_PREFIX = "secure-auth"
_T = TypeVar("_T")

# What a store outage looks like from redis-py: every RedisError (connection,
# timeout, response, ClusterDown...), the cluster errors that do not derive
# from it (SlotNotCovered, "cannot connect"), and raw socket errors.
_DRIVER_ERRORS = (RedisError, RedisClusterException, OSError)
# A half-registered passkey (see ``save_passkey``) disappears after this.
_PENDING_PASSKEY_TTL_MS = 60_000
# Native TTLs are capped (100 years) so Redis never sees an out-of-range value.
_MAX_TTL_MS = 100 * 365 * 86_400_000


# -- Lua scripts: each touches exactly one key (one slot) -------------------
#
# Records are JSON documents whose values are all strings (numbers in their
# exact decimal form): Lua's cjson would round numbers to 14 digits when a
# script rewrites a document, strings it keeps byte for byte.


@dataclass(frozen=True, slots=True)
class _Script:
    lua: str
    sha: str

    @classmethod
    def of(cls, lua: str) -> _Script:
        return cls(lua, hashlib.sha1(lua.encode(), usedforsecurity=False).hexdigest())


# Add a session id to its user's index, scored by the wall-clock time its
# session key disappears; drop members whose keys are surely gone; never
# shorten the index's own TTL.
_INDEX_ADD = _Script.of("""
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 or ttl < tonumber(ARGV[4]) then
    redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return 1
""")

# The refresh compare-and-set: only a live record at the expected generation
# moves on. Expiry is compared as doubles, like Python floats.
_ROTATE = _Script.of("""
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local doc = cjson.decode(raw)
if tonumber(doc.expires_at) <= tonumber(ARGV[3]) then return 0 end
if doc.refresh_generation ~= ARGV[1] then return 0 end
doc.refresh_generation = ARGV[2]
doc.rotated_at = ARGV[3]
doc.last_used_at = ARGV[3]
redis.call('SET', KEYS[1], cjson.encode(doc), 'KEEPTTL')
return 1
""")

# Delete a record only if ``user_id`` is the given owner (sessions, passkeys).
_DELETE_IF_OWNER = _Script.of("""
local raw = redis.call('GET', KEYS[1])
if raw and cjson.decode(raw).user_id == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
""")

# Swap a value only if it is still exactly the expected one (passkey commit).
_REPLACE_IF_EQUAL = _Script.of("""
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[2])
    return 1
end
return 0
""")

_UPDATE_PASSKEY = _Script.of("""
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local doc = cjson.decode(raw)
if doc.pending then return 0 end
doc.sign_count = ARGV[1]
doc.backup_state = ARGV[2]
doc.last_used_at = ARGV[3]
redis.call('SET', KEYS[1], cjson.encode(doc), 'KEEPTTL')
return 1
""")

_RENAME_PASSKEY = _Script.of("""
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local doc = cjson.decode(raw)
if doc.user_id ~= ARGV[1] or doc.pending then return 0 end
doc.label = ARGV[2]
redis.call('SET', KEYS[1], cjson.encode(doc), 'KEEPTTL')
return 1
""")


# A throttle counter: a hash {c: count, r: reset_at}. A live one counts up
# (its window is kept); a missing or expired one starts anew. ``reset_at``
# comes from Python as text and goes back untouched (Lua would round it).
_THROTTLE_HIT = _Script.of("""
local old = redis.call('HMGET', KEYS[1], 'c', 'r')
if old[1] and old[2] and tonumber(old[2]) > tonumber(ARGV[2]) then
    return {redis.call('HINCRBY', KEYS[1], 'c', ARGV[1]), old[2]}
end
redis.call('HSET', KEYS[1], 'c', ARGV[1], 'r', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {tonumber(ARGV[1]), ARGV[3]}
""")


# -- plan steps ---------------------------------------------------------------

_Arg = str | int | float | bytes


@dataclass(frozen=True, slots=True)
class _Cmd:
    """One Redis command."""

    args: tuple[_Arg, ...]
    # redis-py turns a SET reply into a bool unless told that GET was asked.
    set_get: bool = False

    def wire(self) -> tuple[_Arg, ...]:
        return self.args

    def options(self) -> dict[str, Any]:
        return {"get": True} if self.set_get else {}


@dataclass(frozen=True, slots=True)
class _Eval:
    """One Lua script over one key: EVALSHA, EVAL if the node lacks it."""

    script: _Script
    keys: tuple[str, ...]
    args: tuple[_Arg, ...] = ()

    def wire(self, *, by_sha: bool = True) -> tuple[_Arg, ...]:
        body = self.script.sha if by_sha else self.script.lua
        return ("EVALSHA" if by_sha else "EVAL", body, len(self.keys), *self.keys, *self.args)


@dataclass(frozen=True, slots=True)
class _Batch:
    """Independent steps sent in one pipeline (not a transaction); in Cluster
    redis-py groups them by node. The reply is the list of their replies."""

    steps: tuple[_Cmd | _Eval, ...]


_Step = _Cmd | _Eval | _Batch
_Plan = Generator[_Step, Any, _T]


# -- encoding -------------------------------------------------------------------


def _digest(value: str) -> str:
    raw = hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()[:16]
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def _num(value: float) -> str:
    """A float as text that reads back bit for bit (Python and Lua)."""
    return repr(float(value))


def _document(fields: Mapping[str, str | None]) -> str:
    """The stored form: a JSON object of strings, ``None`` fields left out."""
    return json.dumps(
        {k: v for k, v in fields.items() if v is not None},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _parse(reply: object, what: str) -> dict[str, str]:
    """A stored document back as a dict of strings."""
    try:
        doc = json.loads(_text(reply))
    except (ValueError, UnicodeDecodeError) as exc:
        raise StoreUnavailable(f"redis: malformed {what} record") from exc
    if not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values()):
        raise StoreUnavailable(f"redis: malformed {what} record")
    return doc


def _owner_of(reply: object) -> str | None:
    """The ``user_id`` of a replaced or deleted document, if it can be read.

    Used only to tidy the old owner's index after the write itself has
    succeeded; an unreadable old value just leaves a stale member, which the
    next listing prunes.
    """
    if reply is None:
        return None
    try:
        return _parse(reply, "session").get("user_id")
    except StoreUnavailable:
        return None


def _session_document(r: SessionRecord) -> str:
    return _document(
        {
            "session_id": r.session_id,
            "user_id": r.user_id,
            "created_at": _num(r.created_at),
            "expires_at": _num(r.expires_at),
            "last_used_at": _num(r.last_used_at),
            "refresh_generation": str(int(r.refresh_generation)),
            "rotated_at": None if r.rotated_at is None else _num(r.rotated_at),
            "auth_method": r.auth_method,
            "user_agent": r.user_agent,
            "ip_address": r.ip_address,
        }
    )


def _session_from(reply: object) -> SessionRecord:
    h = _parse(reply, "session")
    try:
        rotated = h.get("rotated_at")
        return SessionRecord(
            session_id=h["session_id"],
            user_id=h["user_id"],
            created_at=float(h["created_at"]),
            expires_at=float(h["expires_at"]),
            last_used_at=float(h["last_used_at"]),
            refresh_generation=int(h["refresh_generation"]),
            rotated_at=None if rotated is None else float(rotated),
            auth_method=h.get("auth_method", "password"),
            user_agent=h.get("user_agent"),
            ip_address=h.get("ip_address"),
        )
    except (KeyError, ValueError) as exc:
        raise StoreUnavailable("redis: malformed session record") from exc


def _passkey_document(c: PasskeyCredential, *, pending: bool = False) -> str:
    return _document(
        {
            "credential_id": c.credential_id,
            "user_id": c.user_id,
            "user_handle": c.user_handle,
            "public_key": base64.urlsafe_b64encode(c.public_key).rstrip(b"=").decode("ascii"),
            "sign_count": str(int(c.sign_count)),
            "transports": json.dumps(list(c.transports)),
            "aaguid": c.aaguid,
            "backup_eligible": "1" if c.backup_eligible else "0",
            "backup_state": "1" if c.backup_state else "0",
            "created_at": _num(c.created_at),
            "last_used_at": None if c.last_used_at is None else _num(c.last_used_at),
            "label": c.label,
            "pending": "1" if pending else None,
        }
    )


def _passkey_from(h: Mapping[str, str]) -> PasskeyCredential:
    try:
        key = h["public_key"]
        used = h.get("last_used_at")
        return PasskeyCredential(
            credential_id=h["credential_id"],
            user_id=h["user_id"],
            user_handle=h["user_handle"],
            public_key=base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)),
            sign_count=int(h["sign_count"]),
            transports=tuple(str(t) for t in json.loads(h["transports"])),
            aaguid=h["aaguid"],
            backup_eligible=h["backup_eligible"] == "1",
            backup_state=h["backup_state"] == "1",
            created_at=float(h["created_at"]),
            last_used_at=None if used is None else float(used),
            label=h["label"],
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise StoreUnavailable("redis: malformed passkey record") from exc


def _unavailable(exc: BaseException) -> StoreUnavailable:
    detail = str(exc)[:200]
    return StoreUnavailable(f"redis: {type(exc).__name__}: {detail}")


def _split_cluster_url(url: str, cluster: bool | None) -> tuple[str, bool]:
    """``redis+cluster://`` / ``rediss+cluster://`` mean Cluster; the flag wins."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme.endswith("+cluster"):
        url = urlunsplit(parts._replace(scheme=scheme.removesuffix("+cluster")))
        return url, True if cluster is None else cluster
    return url, bool(cluster)


# -- the logic, written once ------------------------------------------------------


class _RedisPlans:
    """Key layout and every operation as a plan. Not used directly."""

    def __init__(self, *, prefix: str, cluster: bool, clock_tolerance: float) -> None:
        if not isinstance(prefix, str) or not prefix or "{" in prefix or "}" in prefix:
            raise ConfigurationError(
                "the Redis key prefix must be a non-empty string without '{' or '}' "
                "(braces would change the Cluster hash tag)"
            )
        if clock_tolerance < 0:
            raise ConfigurationError("clock_tolerance must be >= 0 seconds")
        self.prefix = prefix
        self.cluster = cluster
        self.clock_tolerance = float(clock_tolerance)

    def __repr__(self) -> str:
        # Never the URL or client: they may carry a password.
        mode = "cluster" if self.cluster else "single"
        return f"{type(self).__name__}(prefix={self.prefix!r}, mode={mode!r})"

    # -- keys ------------------------------------------------------------------

    def session_key(self, session_id: str) -> str:
        """The string holding one session (its own hash tag, its own slot)."""
        return f"{self.prefix}:session:{{{_digest(session_id)}}}"

    def user_sessions_key(self, user_id: str) -> str:
        """The sorted set of a user's session ids (the user's slot)."""
        return f"{self.prefix}:user:{{{_digest(user_id)}}}:sessions"

    def user_passkeys_key(self, user_id: str) -> str:
        """The set of a user's credential ids (the user's slot)."""
        return f"{self.prefix}:user:{{{_digest(user_id)}}}:passkeys"

    def passkey_key(self, credential_id: str) -> str:
        """The string holding one passkey credential (its own slot)."""
        return f"{self.prefix}:passkey:{{{_digest(credential_id)}}}"

    def challenge_key(self, key: str) -> str:
        """The string holding one challenge."""
        return f"{self.prefix}:challenge:{{{_digest(key)}}}"

    def throttle_key(self, key: str) -> str:
        """The hash holding one throttle counter (its own slot)."""
        return f"{self.prefix}:throttle:{{{_digest(key)}}}"

    # -- native TTL ------------------------------------------------------------

    def _native_ttl_ms(self, expires_at: float, lifetime: float) -> int:
        """How long Redis keeps a record: garbage collection, never authority.

        At least the time to ``expires_at`` on this machine's wall clock and
        at least ``lifetime`` (the record's own remaining life on the clock
        that made it), plus ``clock_tolerance``: so the key never disappears
        before the record expires on any clock that reads it, even when the
        caller's clock (an injected one, a skewed one) is behind real time.
        Expiry itself is checked on every read against the ``now`` passed in.
        """
        remaining = max(expires_at - time.time(), lifetime, 0.0)
        return min(math.ceil((remaining + self.clock_tolerance) * 1000), _MAX_TTL_MS)

    # -- sessions ----------------------------------------------------------------

    def _save_session(self, r: SessionRecord) -> _Plan[None]:
        ttl_ms = self._native_ttl_ms(r.expires_at, r.expires_at - r.last_used_at)
        # The session first, then the index: a member of an index always
        # points at a session that was written, so a member whose session is
        # gone may be pruned. If the index step fails, save raises and no
        # token for this session is ever issued.
        previous = yield _Cmd(
            ("SET", self.session_key(r.session_id), _session_document(r), "PX", ttl_ms, "GET"),
            set_get=True,
        )
        wall = time.time()
        yield _Eval(
            _INDEX_ADD,
            (self.user_sessions_key(r.user_id),),
            (r.session_id, _num(wall + ttl_ms / 1000), _num(wall - self.clock_tolerance), ttl_ms),
        )
        owner = _owner_of(previous)
        if owner is not None and owner != r.user_id:  # the session changed owner
            yield _Cmd(("ZREM", self.user_sessions_key(owner), r.session_id))

    def _get_session(self, session_id: str, now: float) -> _Plan[SessionRecord | None]:
        reply = yield _Cmd(("GET", self.session_key(session_id)))
        if reply is None:
            return None
        record = _session_from(reply)
        if record.session_id != session_id or record.expires_at <= now:
            return None
        return record

    def _delete_session(self, session_id: str) -> _Plan[None]:
        reply = yield _Cmd(("GETDEL", self.session_key(session_id)))
        owner = _owner_of(reply)
        if owner is not None:
            yield _Cmd(("ZREM", self.user_sessions_key(owner), session_id))

    def _rotate_refresh(self, session_id: str, expected: int, now: float) -> _Plan[bool]:
        won = yield _Eval(
            _ROTATE,
            (self.session_key(session_id),),
            (str(int(expected)), str(int(expected) + 1), _num(now)),
        )
        return bool(won == 1)

    def _user_session_ids(self, user_id: str) -> _Plan[tuple[str, list[str]]]:
        index = self.user_sessions_key(user_id)
        members = yield _Cmd(("ZRANGE", index, 0, -1))
        return index, [_text(m) for m in members or ()]

    def _list_sessions(self, user_id: str, now: float) -> _Plan[list[SessionRecord]]:
        index, ids = yield from self._user_session_ids(user_id)
        if not ids:
            return []
        replies = yield _Batch(tuple(_Cmd(("GET", self.session_key(s))) for s in ids))
        live: list[SessionRecord] = []
        stale: list[str] = []
        for session_id, reply in zip(ids, replies, strict=True):
            record = None if reply is None else _session_from(reply)
            if record is None or record.user_id != user_id or record.session_id != session_id:
                stale.append(session_id)  # deleted, expired natively, or re-owned
            elif record.expires_at > now:
                live.append(record)
        if stale:
            yield _Cmd(("ZREM", index, *stale))
        return sorted(live, key=lambda r: (r.created_at, r.session_id))

    def _delete_user_sessions(self, user_id: str, except_id: str | None) -> _Plan[int]:
        index, ids = yield from self._user_session_ids(user_id)
        doomed = [s for s in ids if s != except_id]
        if not doomed:
            return 0
        replies = yield _Batch(
            tuple(_Eval(_DELETE_IF_OWNER, (self.session_key(s),), (user_id,)) for s in doomed)
        )
        yield _Cmd(("ZREM", index, *doomed))
        return sum(int(r) for r in replies)

    # -- challenges --------------------------------------------------------------

    def _put_challenge(self, key: str, value: str, expires_at: float) -> _Plan[None]:
        ttl_ms = self._native_ttl_ms(expires_at, 0.0)
        payload = f"{_num(expires_at)}\n{value}"
        yield _Cmd(("SET", self.challenge_key(key), payload, "PX", ttl_ms))

    def _pop_challenge(self, key: str, now: float) -> _Plan[str | None]:
        reply = yield _Cmd(("GETDEL", self.challenge_key(key)))
        if reply is None:
            return None
        expires, sep, value = _text(reply).partition("\n")
        try:
            expired = not sep or float(expires) <= now
        except ValueError as exc:
            raise StoreUnavailable("redis: malformed challenge") from exc
        return None if expired else value

    # -- throttle counters ------------------------------------------------------

    def _throttle_hit(
        self, key: str, window: float, now: float, amount: int
    ) -> _Plan[tuple[int, float]]:
        reset_at = now + window
        reply = yield _Eval(
            _THROTTLE_HIT,
            (self.throttle_key(key),),
            (int(amount), _num(now), _num(reset_at), self._native_ttl_ms(reset_at, window)),
        )
        try:
            count, reset = reply
            return int(count), float(_text(reset))
        except (TypeError, ValueError) as exc:
            raise StoreUnavailable("redis: malformed throttle counter") from exc

    def _throttle_get(self, key: str, now: float) -> _Plan[tuple[int, float] | None]:
        count, reset = yield _Cmd(("HMGET", self.throttle_key(key), "c", "r"))
        if count is None or reset is None:
            return None
        try:
            state = int(_text(count)), float(_text(reset))
        except ValueError as exc:
            raise StoreUnavailable("redis: malformed throttle counter") from exc
        return None if state[1] <= now else state

    def _throttle_reset(self, key: str) -> _Plan[None]:
        yield _Cmd(("DEL", self.throttle_key(key)))

    # -- passkeys ----------------------------------------------------------------

    def _save_passkey(self, c: PasskeyCredential) -> _Plan[bool]:
        key = self.passkey_key(c.credential_id)
        pending = _passkey_document(c, pending=True)
        # Three steps, each atomic: create it pending, with a short TTL, only
        # if the id is free; add it to its owner's index; commit (no TTL).
        # A pending credential is invisible, so a failure midway never leaves
        # a usable passkey that its owner cannot list or delete.
        created = yield _Cmd(("SET", key, pending, "NX", "PX", _PENDING_PASSKEY_TTL_MS))
        if not created:  # nil: the id is taken (redis-py may give None or False)
            return False
        yield _Cmd(("SADD", self.user_passkeys_key(c.user_id), c.credential_id))
        committed = yield _Eval(_REPLACE_IF_EQUAL, (key,), (pending, _passkey_document(c)))
        if committed != 1:
            raise StoreUnavailable("redis: the passkey expired before it was committed")
        return True

    def _visible_passkey(self, reply: object) -> PasskeyCredential | None:
        if reply is None:
            return None
        fields = _parse(reply, "passkey")
        return None if "pending" in fields else _passkey_from(fields)

    def _get_passkey(self, credential_id: str) -> _Plan[PasskeyCredential | None]:
        reply = yield _Cmd(("GET", self.passkey_key(credential_id)))
        credential = self._visible_passkey(reply)
        if credential is None or credential.credential_id != credential_id:
            return None
        return credential

    def _list_passkeys(self, user_id: str) -> _Plan[list[PasskeyCredential]]:
        index = self.user_passkeys_key(user_id)
        members = yield _Cmd(("SMEMBERS", index))
        ids = sorted(_text(m) for m in members or ())
        if not ids:
            return []
        replies = yield _Batch(tuple(_Cmd(("GET", self.passkey_key(i))) for i in ids))
        found: list[PasskeyCredential] = []
        stale: list[str] = []
        for credential_id, reply in zip(ids, replies, strict=True):
            fields = None if reply is None else _parse(reply, "passkey")
            if fields is not None and "pending" in fields and fields.get("user_id") == user_id:
                continue  # being registered right now: not stale, not visible
            credential = None if fields is None else _passkey_from(fields)
            if (
                credential is None
                or credential.user_id != user_id
                or credential.credential_id != credential_id
            ):
                stale.append(credential_id)
            else:
                found.append(credential)
        if stale:
            yield _Cmd(("SREM", index, *stale))
        return sorted(found, key=lambda c: (c.created_at, c.credential_id))

    def _update_passkey_usage(
        self, credential_id: str, sign_count: int, backup_state: bool, now: float
    ) -> _Plan[None]:
        yield _Eval(
            _UPDATE_PASSKEY,
            (self.passkey_key(credential_id),),
            (str(int(sign_count)), "1" if backup_state else "0", _num(now)),
        )

    def _rename_passkey(self, user_id: str, credential_id: str, label: str) -> _Plan[bool]:
        done = yield _Eval(_RENAME_PASSKEY, (self.passkey_key(credential_id),), (user_id, label))
        return bool(done == 1)

    def _delete_passkey(self, user_id: str, credential_id: str) -> _Plan[bool]:
        deleted = yield _Eval(_DELETE_IF_OWNER, (self.passkey_key(credential_id),), (user_id,))
        if deleted != 1:
            return False
        yield _Cmd(("SREM", self.user_passkeys_key(user_id), credential_id))
        return True


# -- the two drivers ----------------------------------------------------------------


class _SyncPipeline(Protocol):
    def execute_command(self, *args: Any, **options: Any) -> Any: ...

    def execute(self, raise_on_error: bool = ...) -> list[Any]: ...


class _SyncClient(Protocol):
    def execute_command(self, *args: Any, **options: Any) -> Any: ...

    def pipeline(self, transaction: bool = ...) -> _SyncPipeline: ...

    def close(self) -> None: ...


class _AsyncPipeline(Protocol):
    def execute_command(self, *args: Any, **options: Any) -> Any: ...

    async def execute(self, raise_on_error: bool = ...) -> list[Any]: ...


class _AsyncClient(Protocol):
    async def execute_command(self, *args: Any, **options: Any) -> Any: ...

    def pipeline(self, transaction: bool = ...) -> _AsyncPipeline: ...

    async def aclose(self) -> None: ...


SyncRedisClient = redis.Redis | redis.cluster.RedisCluster
AsyncRedisClient = redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster


class RedisStore(_RedisPlans):
    """Sessions, challenges and passkeys in Redis or Redis Cluster, blocking.

    For :class:`~secure_auth.SyncAuthService`. With :class:`AuthService`
    use :class:`AsyncRedisStore`.

    Args:
        client: a ``redis.Redis`` or ``redis.cluster.RedisCluster``. Either
            ``decode_responses`` setting works. The store does not close a
            client it was given (see ``owns_client``).
        prefix: the first part of every key (no ``{`` or ``}``), so several
            applications or tests can share one Redis.
        clock_tolerance: seconds added to every native TTL, so a key never
            disappears early on a skewed clock (expiry is checked on read).
        owns_client: close the client in :meth:`close` (``from_url`` sets it).

    Every method raises :class:`~secure_auth.errors.StoreUnavailable` when
    Redis fails (connection, timeout, error reply, cluster down), never a
    redis-py exception and never an answer that could pass for valid.

    Raises:
        ConfigurationError: bad ``prefix`` or ``clock_tolerance``.
    """

    def __init__(
        self,
        client: SyncRedisClient,
        *,
        prefix: str = DEFAULT_PREFIX,
        clock_tolerance: float = 300.0,
        owns_client: bool = False,
    ) -> None:
        super().__init__(
            prefix=prefix,
            cluster=isinstance(client, redis.cluster.RedisCluster),
            clock_tolerance=clock_tolerance,
        )
        self.client = client
        self._conn = cast(_SyncClient, client)
        self._owns_client = owns_client

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        cluster: bool | None = None,
        prefix: str = DEFAULT_PREFIX,
        clock_tolerance: float = 300.0,
        **client_options: Any,
    ) -> Self:
        """Connect from a URL; the store owns (and closes) the client.

        ``redis://``, ``rediss://`` and ``unix://`` URLs make a single-node
        client. ``redis+cluster://host:port`` (or ``rediss+cluster://``), or
        ``cluster=True`` with any URL, makes a ``RedisCluster`` that
        discovers the other nodes from that one. ``client_options`` go to
        redis-py (``socket_timeout``, ``retry``, ``ssl_ca_certs``...).

        Raises:
            StoreUnavailable: Cluster only: no node could be reached (the
                blocking Cluster client reads the slot map when it is made).
        """
        url, as_cluster = _split_cluster_url(url, cluster)
        client: SyncRedisClient
        try:
            if as_cluster:
                client = redis.cluster.RedisCluster.from_url(url, **client_options)
            else:
                client = redis.Redis.from_url(url, **client_options)
        except _DRIVER_ERRORS as exc:
            raise _unavailable(exc) from exc
        return cls(client, prefix=prefix, clock_tolerance=clock_tolerance, owns_client=True)

    def close(self) -> None:
        """Close the client if this store created it (``from_url``)."""
        if self._owns_client:
            self._conn.close()

    def _run(self, plan: _Plan[_T]) -> _T:
        try:
            step = next(plan)
            while True:
                step = plan.send(self._perform(step))
        except StopIteration as stop:
            return cast(_T, stop.value)
        except _DRIVER_ERRORS as exc:
            raise _unavailable(exc) from exc
        finally:
            plan.close()

    def _perform(self, step: _Step) -> Any:
        if isinstance(step, _Cmd):
            return self._conn.execute_command(*step.wire(), **step.options())
        if isinstance(step, _Eval):
            try:
                return self._conn.execute_command(*step.wire())
            except NoScriptError:
                return self._conn.execute_command(*step.wire(by_sha=False))
        pipe = self._conn.pipeline(transaction=False)
        for item in step.steps:
            pipe.execute_command(*item.wire())
        replies = pipe.execute(raise_on_error=False)
        out: list[Any] = []
        for item, reply in zip(step.steps, replies, strict=True):
            if isinstance(reply, NoScriptError) and isinstance(item, _Eval):
                out.append(self._conn.execute_command(*item.wire(by_sha=False)))
            elif isinstance(reply, BaseException):
                raise reply
            else:
                out.append(reply)
        return out

    # -- SessionStore --------------------------------------------------------

    def save_session(self, record: SessionRecord) -> None:
        """Insert or replace the record; index it under its user.

        Raises:
            StoreUnavailable: Redis failed.
        """
        self._run(self._save_session(record))

    def get_session(self, session_id: str, now: float) -> SessionRecord | None:
        """One GET: the record, or ``None`` if missing or expired at ``now``.

        Raises:
            StoreUnavailable: Redis failed or the record is malformed.
        """
        return self._run(self._get_session(session_id, now))

    def delete_session(self, session_id: str) -> None:
        """Delete the session (missing is fine).

        Raises:
            StoreUnavailable: Redis failed.
        """
        self._run(self._delete_session(session_id))

    def rotate_refresh(self, session_id: str, expected_generation: int, now: float) -> bool:
        """Atomic refresh compare-and-set (one Lua script).

        Raises:
            StoreUnavailable: Redis failed.
        """
        return self._run(self._rotate_refresh(session_id, expected_generation, now))

    def list_sessions(self, user_id: str, now: float) -> list[SessionRecord]:
        """The user's live sessions, oldest first; prunes stale index members.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return self._run(self._list_sessions(user_id, now))

    def delete_user_sessions(self, user_id: str, except_session_id: str | None = None) -> int:
        """Delete every session of the user but one; return how many went.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return self._run(self._delete_user_sessions(user_id, except_session_id))

    # -- ChallengeStore ----------------------------------------------------------

    def put_challenge(self, key: str, value: str, expires_at: float) -> None:
        """Store a single-use value until ``expires_at``.

        Raises:
            StoreUnavailable: Redis failed.
        """
        self._run(self._put_challenge(key, value, expires_at))

    def pop_challenge(self, key: str, now: float) -> str | None:
        """GETDEL: the value once, ``None`` if missing, taken or expired.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return self._run(self._pop_challenge(key, now))

    # -- ThrottleStore --------------------------------------------------------------

    def throttle_hit(
        self, key: str, window: float, now: float, amount: int = 1
    ) -> tuple[int, float]:
        """Atomically count (one Lua script on one key); ``(count, reset_at)``.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return self._run(self._throttle_hit(key, window, now, amount))

    def throttle_get(self, key: str, now: float) -> tuple[int, float] | None:
        """``(count, reset_at)`` of a live counter, else ``None``.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return self._run(self._throttle_get(key, now))

    def throttle_reset(self, key: str) -> None:
        """Delete the counter.

        Raises:
            StoreUnavailable: Redis failed.
        """
        self._run(self._throttle_reset(key))

    # -- PasskeyStore --------------------------------------------------------------

    def save_passkey(self, credential: PasskeyCredential) -> bool:
        """Insert if the credential id is free; ``False`` if taken.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return self._run(self._save_passkey(credential))

    def get_passkey(self, credential_id: str) -> PasskeyCredential | None:
        """The credential, or ``None``.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return self._run(self._get_passkey(credential_id))

    def list_passkeys(self, user_id: str) -> list[PasskeyCredential]:
        """The user's credentials, oldest first.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return self._run(self._list_passkeys(user_id))

    def update_passkey_usage(
        self, credential_id: str, sign_count: int, backup_state: bool, now: float
    ) -> None:
        """Record a successful assertion (never recreates a deleted credential).

        Raises:
            StoreUnavailable: Redis failed.
        """
        self._run(self._update_passkey_usage(credential_id, sign_count, backup_state, now))

    def rename_passkey(self, user_id: str, credential_id: str, label: str) -> bool:
        """Set the label if ``user_id`` owns the credential.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return self._run(self._rename_passkey(user_id, credential_id, label))

    def delete_passkey(self, user_id: str, credential_id: str) -> bool:
        """Delete if ``user_id`` owns the credential; ``True`` if deleted.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return self._run(self._delete_passkey(user_id, credential_id))


class AsyncRedisStore(_RedisPlans):
    """Sessions, challenges and passkeys in Redis or Redis Cluster, ``async``.

    For :class:`~secure_auth.AuthService`. Same arguments, layout and rules
    as :class:`RedisStore`, with ``redis.asyncio.Redis`` or
    ``redis.asyncio.cluster.RedisCluster``. A client belongs to the event
    loop that first uses it.

    Every method raises :class:`~secure_auth.errors.StoreUnavailable` when
    Redis fails, never a redis-py exception.

    Raises:
        ConfigurationError: bad ``prefix`` or ``clock_tolerance``.
    """

    def __init__(
        self,
        client: AsyncRedisClient,
        *,
        prefix: str = DEFAULT_PREFIX,
        clock_tolerance: float = 300.0,
        owns_client: bool = False,
    ) -> None:
        super().__init__(
            prefix=prefix,
            cluster=isinstance(client, redis.asyncio.cluster.RedisCluster),
            clock_tolerance=clock_tolerance,
        )
        self.client = client
        self._conn = cast(_AsyncClient, client)
        self._owns_client = owns_client

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        cluster: bool | None = None,
        prefix: str = DEFAULT_PREFIX,
        clock_tolerance: float = 300.0,
        **client_options: Any,
    ) -> Self:
        """Like :meth:`RedisStore.from_url`; nothing connects until first use,
        so this never fails for an unreachable server.
        """
        url, as_cluster = _split_cluster_url(url, cluster)
        client: AsyncRedisClient
        if as_cluster:
            client = redis.asyncio.cluster.RedisCluster.from_url(url, **client_options)
        else:
            client = redis.asyncio.Redis.from_url(url, **client_options)
        return cls(client, prefix=prefix, clock_tolerance=clock_tolerance, owns_client=True)

    async def aclose(self) -> None:
        """Close the client if this store created it (``from_url``)."""
        if self._owns_client:
            await self._conn.aclose()

    async def _run(self, plan: _Plan[_T]) -> _T:
        try:
            step = next(plan)
            while True:
                step = plan.send(await self._perform(step))
        except StopIteration as stop:
            return cast(_T, stop.value)
        except _DRIVER_ERRORS as exc:
            raise _unavailable(exc) from exc
        finally:
            plan.close()

    async def _perform(self, step: _Step) -> Any:
        if isinstance(step, _Cmd):
            return await self._conn.execute_command(*step.wire(), **step.options())
        if isinstance(step, _Eval):
            try:
                return await self._conn.execute_command(*step.wire())
            except NoScriptError:
                return await self._conn.execute_command(*step.wire(by_sha=False))
        pipe = self._conn.pipeline(transaction=False)
        for item in step.steps:
            pipe.execute_command(*item.wire())
        replies = await pipe.execute(raise_on_error=False)
        out: list[Any] = []
        for item, reply in zip(step.steps, replies, strict=True):
            if isinstance(reply, NoScriptError) and isinstance(item, _Eval):
                out.append(await self._conn.execute_command(*item.wire(by_sha=False)))
            elif isinstance(reply, BaseException):
                raise reply
            else:
                out.append(reply)
        return out

    # -- AsyncSessionStore ---------------------------------------------------------

    async def save_session(self, record: SessionRecord) -> None:
        """See :meth:`RedisStore.save_session`.

        Raises:
            StoreUnavailable: Redis failed.
        """
        await self._run(self._save_session(record))

    async def get_session(self, session_id: str, now: float) -> SessionRecord | None:
        """See :meth:`RedisStore.get_session` (one GET).

        Raises:
            StoreUnavailable: Redis failed or the record is malformed.
        """
        return await self._run(self._get_session(session_id, now))

    async def delete_session(self, session_id: str) -> None:
        """See :meth:`RedisStore.delete_session`.

        Raises:
            StoreUnavailable: Redis failed.
        """
        await self._run(self._delete_session(session_id))

    async def rotate_refresh(self, session_id: str, expected_generation: int, now: float) -> bool:
        """See :meth:`RedisStore.rotate_refresh`.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return await self._run(self._rotate_refresh(session_id, expected_generation, now))

    async def list_sessions(self, user_id: str, now: float) -> list[SessionRecord]:
        """See :meth:`RedisStore.list_sessions`.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return await self._run(self._list_sessions(user_id, now))

    async def delete_user_sessions(self, user_id: str, except_session_id: str | None = None) -> int:
        """See :meth:`RedisStore.delete_user_sessions`.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return await self._run(self._delete_user_sessions(user_id, except_session_id))

    # -- AsyncChallengeStore -------------------------------------------------------

    async def put_challenge(self, key: str, value: str, expires_at: float) -> None:
        """See :meth:`RedisStore.put_challenge`.

        Raises:
            StoreUnavailable: Redis failed.
        """
        await self._run(self._put_challenge(key, value, expires_at))

    async def pop_challenge(self, key: str, now: float) -> str | None:
        """See :meth:`RedisStore.pop_challenge`.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return await self._run(self._pop_challenge(key, now))

    # -- AsyncThrottleStore ---------------------------------------------------------

    async def throttle_hit(
        self, key: str, window: float, now: float, amount: int = 1
    ) -> tuple[int, float]:
        """See :meth:`RedisStore.throttle_hit`.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return await self._run(self._throttle_hit(key, window, now, amount))

    async def throttle_get(self, key: str, now: float) -> tuple[int, float] | None:
        """See :meth:`RedisStore.throttle_get`.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return await self._run(self._throttle_get(key, now))

    async def throttle_reset(self, key: str) -> None:
        """See :meth:`RedisStore.throttle_reset`.

        Raises:
            StoreUnavailable: Redis failed.
        """
        await self._run(self._throttle_reset(key))

    # -- AsyncPasskeyStore ---------------------------------------------------------

    async def save_passkey(self, credential: PasskeyCredential) -> bool:
        """See :meth:`RedisStore.save_passkey`.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return await self._run(self._save_passkey(credential))

    async def get_passkey(self, credential_id: str) -> PasskeyCredential | None:
        """See :meth:`RedisStore.get_passkey`.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return await self._run(self._get_passkey(credential_id))

    async def list_passkeys(self, user_id: str) -> list[PasskeyCredential]:
        """See :meth:`RedisStore.list_passkeys`.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return await self._run(self._list_passkeys(user_id))

    async def update_passkey_usage(
        self, credential_id: str, sign_count: int, backup_state: bool, now: float
    ) -> None:
        """See :meth:`RedisStore.update_passkey_usage`.

        Raises:
            StoreUnavailable: Redis failed.
        """
        await self._run(self._update_passkey_usage(credential_id, sign_count, backup_state, now))

    async def rename_passkey(self, user_id: str, credential_id: str, label: str) -> bool:
        """See :meth:`RedisStore.rename_passkey`.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return await self._run(self._rename_passkey(user_id, credential_id, label))

    async def delete_passkey(self, user_id: str, credential_id: str) -> bool:
        """See :meth:`RedisStore.delete_passkey`.

        Raises:
            StoreUnavailable: Redis failed.
        """
        return await self._run(self._delete_passkey(user_id, credential_id))


RedisSessionStore = RedisStore
AsyncRedisSessionStore = AsyncRedisStore
