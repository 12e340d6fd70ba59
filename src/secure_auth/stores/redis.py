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

Key layout (``docs/redis.md`` explains the choice), with ``t = h(user_id)``
the user's hash tag::

    <prefix>:user:{t}:session:<h(session_id)>    string (JSON), one session, native TTL
    <prefix>:user:{t}:sessions                   sorted set, the user's session ids
    <prefix>:user:{t}:passkey:<h(credential_id)> string (JSON), one credential
    <prefix>:user:{t}:passkeys                   set, the user's credential ids
    <prefix>:passkey-owner:{<h(credential_id)>}  string: t, the credential's owner
    <prefix>:challenge:{<h(key)>}                string, single-use, native TTL
    <prefix>:session:{<h(session_id)>}           a session whose id this store did not make

Every key of one user is in the user's slot. The store makes the session
ids (``new_session_id``: ``<t>.<random>``), so ``get_session`` reads the tag
from the id and stays one ``GET``; a credential id, which usernameless
sign-in knows alone, leads to its owner through the owner pointer.

``h`` is the base64url form of the first 16 bytes of SHA-256: no caller
input ever reaches a key name (a tag read from a session id is checked to
be 22 base64url characters), so braces, colons, globs or 10 kB ids cannot
break the layout. Each step of every operation touches one hash slot only
(one command, or one script whose keys share a tag), so the same code runs
on one node and on Redis Cluster.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import re
import secrets
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
# A credential id's pending claim (see ``_save_passkey``) lapses after this.
_PENDING_PASSKEY_TTL_MS = 60_000
# Native TTLs are capped (100 years) so Redis never sees an out-of-range value.
_MAX_TTL_MS = 100 * 365 * 86_400_000


# -- Lua scripts: each touches one hash slot ----------------------------------
#
# A script names every key it touches in KEYS, and all of them share one hash
# tag (one slot), so it runs whole on one node, on a single server and in
# Cluster alike. Records are JSON documents whose values are all strings
# (numbers in their exact decimal form): Lua's cjson would round numbers to
# 14 digits when a script rewrites a document, strings it keeps byte for byte.


@dataclass(frozen=True, slots=True)
class _Script:
    lua: str
    sha: str

    @classmethod
    def of(cls, lua: str) -> _Script:
        return cls(lua, hashlib.sha1(lua.encode(), usedforsecurity=False).hexdigest())


# Save a session and index it under its user: KEYS[1] is the user's index,
# KEYS[2] (when the session lives in the user's slot) the session itself,
# written in the same script and returned as it was before (SET ... GET).
# A session in another slot is written first by its own SET, then indexed
# by this script with KEYS[1] alone. Index members are scored by the
# wall-clock time their session key disappears; members whose keys are
# surely gone are dropped; the index's own TTL is never shortened.
_SAVE_SESSION = _Script.of("""
local previous = false
if KEYS[2] then
    previous = redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[4], 'GET')
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 or ttl < tonumber(ARGV[4]) then
    redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return previous
""")

# Delete a session in its user's slot and its index member, in one step;
# the old value comes back (its owner tells whether another index holds it).
_DELETE_SESSION = _Script.of("""
local raw = redis.call('GETDEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return raw
""")

# logout_all for the sessions in the user's slot: KEYS[1] is the index,
# KEYS[i] (i >= 2) the session ARGV[i]; ARGV[1] the user. Each session named
# by its record as the user's goes; every listed member leaves the index.
_DELETE_USER_SESSIONS = _Script.of("""
local n = 0
for i = 2, #KEYS do
    local raw = redis.call('GET', KEYS[i])
    if raw and cjson.decode(raw).user_id == ARGV[1] then
        n = n + redis.call('DEL', KEYS[i])
    end
    redis.call('ZREM', KEYS[1], ARGV[i])
end
return n
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

# Delete a record only if ``user_id`` is the given owner (foreign-id sessions).
_DELETE_IF_OWNER = _Script.of("""
local raw = redis.call('GET', KEYS[1])
if raw and cjson.decode(raw).user_id == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
""")

# Commit a credential's owner pointer: pending (ARGV[1]) -> committed
# (ARGV[2]); the plain SET drops the pending TTL. Already committed to the
# same owner counts as done, so a retried commit (lost reply) succeeds.
_COMMIT_OWNER = _Script.of("""
local value = redis.call('GET', KEYS[1])
if value == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[2])
    return 1
end
if value == ARGV[2] then return 1 end
return 0
""")

# Delete a value only if it is still exactly the expected one.
_DELETE_IF_EQUAL = _Script.of("""
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
""")

# A credential record and its owner's index, together: KEYS[1] the index,
# KEYS[2] the record, ARGV[1] the credential id, ARGV[2] the document.
_PUT_PASSKEY = _Script.of("""
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[1], ARGV[1])
return 1
""")

# Remove a credential record and its index member, together. ARGV[2] says
# which record goes: 'owner' if its user_id is ARGV[3]; 'exact' if it is
# still byte for byte ARGV[3] ('' = only a member whose record is missing).
# The member leaves the index whenever its record is gone afterwards.
_DROP_PASSKEY = _Script.of("""
local raw = redis.call('GET', KEYS[2])
local gone = 0
if raw then
    if (ARGV[2] == 'owner' and cjson.decode(raw).user_id == ARGV[3])
        or (ARGV[2] == 'exact' and raw == ARGV[3]) then
        gone = redis.call('DEL', KEYS[2])
    end
end
if gone == 1 or not raw then
    redis.call('SREM', KEYS[1], ARGV[1])
end
return gone
""")

_UPDATE_PASSKEY = _Script.of("""
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local doc = cjson.decode(raw)
doc.sign_count = ARGV[1]
doc.backup_state = ARGV[2]
doc.last_used_at = ARGV[3]
redis.call('SET', KEYS[1], cjson.encode(doc))
return 1
""")

_RENAME_PASSKEY = _Script.of("""
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local doc = cjson.decode(raw)
if doc.user_id ~= ARGV[1] then return 0 end
doc.label = ARGV[2]
redis.call('SET', KEYS[1], cjson.encode(doc))
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


# ``<tag>.<random>``: a session id made by ``new_session_id``. The tag is a
# digest (22 base64url characters, never a '.'), so the split is unambiguous.
_TAGGED_SESSION_ID = re.compile(r"([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]+")
_TAG = re.compile(r"[A-Za-z0-9_-]{22}")
# 240 random bits: 40 characters, 63 with the tag and the dot (<= 64, see
# ``new_session_id``).
_SESSION_ID_RANDOM_BYTES = 30
# The owner pointer of a credential being registered (not yet usable).
_PENDING = "pending:"


def _session_tag(session_id: str) -> str | None:
    """The user tag a session id carries, ``None`` for any other id."""
    match = _TAGGED_SESSION_ID.fullmatch(session_id)
    return None if match is None else match.group(1)


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


def _passkey_document(c: PasskeyCredential) -> str:
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

    def user_tag(self, user_id: str) -> str:
        """The user's hash tag: ``h(user_id)``, 22 characters of base64url."""
        return _digest(user_id)

    def new_session_id(self, user_id: str) -> str:
        """A session id that carries its user's hash tag: ``<tag>.<random>``.

        The hook of :class:`~secure_auth.stores.base.SessionIdMinter`: the
        service asks the store for the id of every session it creates. The
        tag puts the session in its user's Cluster slot, and
        :meth:`get_session` finds it from the id alone (one ``GET``); the
        random part is ``secrets.token_urlsafe(30)`` (240 bits). 63
        characters: the user index, a sorted set, keeps Redis's compact
        encoding only while every member is at most 64 bytes
        (``zset-max-listpack-value``); past that it costs five times more.
        """
        return f"{_digest(user_id)}.{secrets.token_urlsafe(_SESSION_ID_RANDOM_BYTES)}"

    def _user_key(self, tag: str, rest: str) -> str:
        return f"{self.prefix}:user:{{{tag}}}:{rest}"

    def _in_user_slot(self, session_id: str, user_id: str) -> bool:
        """Whether this user's session lives in the user's slot."""
        return _session_tag(session_id) == _digest(user_id)

    def session_key(self, session_id: str) -> str:
        """The string holding one session.

        An id made by :meth:`new_session_id` names its user's tag, and its
        session lives in the user's slot. Any other id (made by another
        store or an earlier version, or a caller's own) keeps a key of its
        own, in its own slot.
        """
        tag = _session_tag(session_id)
        if tag is None:
            return f"{self.prefix}:session:{{{_digest(session_id)}}}"
        return self._user_key(tag, f"session:{_digest(session_id)}")

    def user_sessions_key(self, user_id: str) -> str:
        """The sorted set of a user's session ids (the user's slot)."""
        return self._user_key(_digest(user_id), "sessions")

    def user_passkeys_key(self, user_id: str) -> str:
        """The set of a user's credential ids (the user's slot)."""
        return self._user_key(_digest(user_id), "passkeys")

    def passkey_key(self, credential_id: str, user_id: str) -> str:
        """The string holding one credential of ``user_id`` (the user's slot)."""
        return self._user_key(_digest(user_id), f"passkey:{_digest(credential_id)}")

    def passkey_owner_key(self, credential_id: str) -> str:
        """The credential id's owner pointer (the credential id's own slot)."""
        return f"{self.prefix}:passkey-owner:{{{_digest(credential_id)}}}"

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
        key, index = self.session_key(r.session_id), self.user_sessions_key(r.user_id)
        doc = _session_document(r)

        def index_args() -> tuple[_Arg, ...]:
            wall = time.time()
            expires = _num(wall + ttl_ms / 1000)
            return (r.session_id, expires, _num(wall - self.clock_tolerance), ttl_ms)

        if self._in_user_slot(r.session_id, r.user_id):
            # One slot: the session and its index member in one script.
            previous = yield _Eval(_SAVE_SESSION, (index, key), (*index_args(), doc))
        else:
            # Two slots: the session first, then the index, so that a member
            # of an index always points at a session that was written (and a
            # member whose session is gone may be pruned). If the index step
            # fails, save raises and no token for the session is ever issued.
            previous = yield _Cmd(("SET", key, doc, "PX", ttl_ms, "GET"), set_get=True)
            yield _Eval(_SAVE_SESSION, (index,), index_args())
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
        key, tag = self.session_key(session_id), _session_tag(session_id)
        if tag is None:
            reply = yield _Cmd(("GETDEL", key))
            indexed = None
        else:
            # The session and its member of the tag's index, in one script.
            indexed = self._user_key(tag, "sessions")
            reply = yield _Eval(_DELETE_SESSION, (key, indexed), (session_id,))
        owner = _owner_of(reply)
        if owner is not None and self.user_sessions_key(owner) != indexed:
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
        # The user's own sessions all sit on the index's node; redis-py
        # sends the GETs of any others to their nodes in the same pipeline.
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
        # Sessions in the user's slot go with their index members in one
        # script; any others (ids this store did not make) one by one, and
        # leave the index after their records, as in _save_session.
        own = [s for s in doomed if self._in_user_slot(s, user_id)]
        others = [s for s in doomed if not self._in_user_slot(s, user_id)]
        steps: list[_Cmd | _Eval] = [
            _Eval(_DELETE_IF_OWNER, (self.session_key(s),), (user_id,)) for s in others
        ]
        if own:
            keys = tuple(self.session_key(s) for s in own)
            steps.append(_Eval(_DELETE_USER_SESSIONS, (index, *keys), (user_id, *own)))
        replies = yield _Batch(tuple(steps))
        if others:
            yield _Cmd(("ZREM", index, *others))
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
    #
    # A credential's record and its owner's index live in the owner's slot;
    # a small owner pointer (``passkey_owner_key``: the owner's tag) lives in
    # the credential id's slot, so that usernameless sign-in, which knows only
    # the credential id, finds the record. A credential is *usable* (get,
    # list, update) only while its pointer names its owner and its record
    # exists. The pointer claims the id (SET NX), so an id is unique across
    # users; it is written first (pending, with a short TTL) and committed
    # last, and removed first on deletion. A failure between steps leaves at
    # most a record that no pointer names: never usable, and the owner's next
    # listing removes it. No step ever leaves a committed pointer without
    # its record.

    def _save_passkey(self, c: PasskeyCredential) -> _Plan[bool]:
        tag, cid = _digest(c.user_id), c.credential_id
        pointer = self.passkey_owner_key(cid)
        index, key = self.user_passkeys_key(c.user_id), self.passkey_key(cid, c.user_id)
        claimed = yield _Cmd(("SET", pointer, _PENDING + tag, "NX", "PX", _PENDING_PASSKEY_TTL_MS))
        if not claimed:  # nil: the id is taken (redis-py may give None or False)
            return False
        doc = _passkey_document(c)
        yield _Eval(_PUT_PASSKEY, (index, key), (cid, doc))
        committed = yield _Eval(_COMMIT_OWNER, (pointer,), (_PENDING + tag, tag))
        if committed != 1:
            # The pending claim expired before the commit (a stall of a
            # minute): withdraw the record, which no pointer names.
            yield _Eval(_DROP_PASSKEY, (index, key), (cid, "exact", doc))
            raise StoreUnavailable("redis: the passkey expired before it was committed")
        return True

    def _owner_tag(self, credential_id: str) -> _Plan[str | None]:
        """The tag of the credential's owner, ``None`` unless committed."""
        reply = yield _Cmd(("GET", self.passkey_owner_key(credential_id)))
        if reply is None:
            return None
        tag = _text(reply)
        if tag.startswith(_PENDING):
            return None  # being registered: not usable yet
        if not _TAG.fullmatch(tag):
            raise StoreUnavailable("redis: malformed passkey owner")
        return tag

    def _get_passkey(self, credential_id: str) -> _Plan[PasskeyCredential | None]:
        tag = yield from self._owner_tag(credential_id)
        if tag is None:
            return None
        reply = yield _Cmd(("GET", self._user_key(tag, f"passkey:{_digest(credential_id)}")))
        if reply is None:
            return None  # a pointer without a record reads as missing
        credential = _passkey_from(_parse(reply, "passkey"))
        if credential.credential_id != credential_id or _digest(credential.user_id) != tag:
            return None
        return credential

    def _list_passkeys(self, user_id: str) -> _Plan[list[PasskeyCredential]]:
        tag, index = _digest(user_id), self.user_passkeys_key(user_id)
        members = yield _Cmd(("SMEMBERS", index))
        ids = sorted(_text(m) for m in members or ())
        if not ids:
            return []
        replies = yield _Batch(tuple(_Cmd(("GET", self.passkey_key(i, user_id))) for i in ids))
        present = {i: _text(r) for i, r in zip(ids, replies, strict=True) if r is not None}
        held = list(present.items())
        # The pointers are read after the records: a record seen here whose
        # pointer is then missing was not being registered (registration
        # writes the pointer first), so it is surely left over.
        owners = (
            (yield _Batch(tuple(_Cmd(("GET", self.passkey_owner_key(i))) for i, _ in held)))
            if held
            else []
        )
        found: list[PasskeyCredential] = []
        # (id, the record as read): members without a record go ("" = if
        # still missing), and records no committed pointer names.
        drop: list[tuple[str, str]] = [(i, "") for i in ids if i not in present]
        for (credential_id, raw), owner in zip(held, owners, strict=True):
            credential = _passkey_from(_parse(raw, "passkey"))
            pointer = None if owner is None else _text(owner)
            if pointer == _PENDING + tag:
                continue  # being registered right now: not usable, not left over
            if (
                pointer != tag
                or credential.user_id != user_id
                or credential.credential_id != credential_id
            ):
                drop.append((credential_id, raw))
            else:
                found.append(credential)
        if drop:
            yield _Batch(
                tuple(
                    _Eval(_DROP_PASSKEY, (index, self.passkey_key(i, user_id)), (i, "exact", raw))
                    for i, raw in drop
                )
            )
        return sorted(found, key=lambda c: (c.created_at, c.credential_id))

    def _update_passkey_usage(
        self, credential_id: str, sign_count: int, backup_state: bool, now: float
    ) -> _Plan[None]:
        tag = yield from self._owner_tag(credential_id)
        if tag is None:
            return  # deleted (or never committed): never recreated
        yield _Eval(
            _UPDATE_PASSKEY,
            (self._user_key(tag, f"passkey:{_digest(credential_id)}"),),
            (str(int(sign_count)), "1" if backup_state else "0", _num(now)),
        )

    def _rename_passkey(self, user_id: str, credential_id: str, label: str) -> _Plan[bool]:
        # The record alone (one step): renaming cannot make anything usable.
        key = self.passkey_key(credential_id, user_id)
        done = yield _Eval(_RENAME_PASSKEY, (key,), (user_id, label))
        return bool(done == 1)

    def _delete_passkey(self, user_id: str, credential_id: str) -> _Plan[bool]:
        # The pointer first: from that instant the credential cannot sign in.
        unlinked = yield _Eval(
            _DELETE_IF_EQUAL, (self.passkey_owner_key(credential_id),), (_digest(user_id),)
        )
        if unlinked != 1:
            return False  # not this user's (or not committed)
        index, key = self.user_passkeys_key(user_id), self.passkey_key(credential_id, user_id)
        yield _Eval(_DROP_PASSKEY, (index, key), (credential_id, "owner", user_id))
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

        One script for a session whose id this store made (record and index
        together, in the user's slot); for any other id, the record first,
        then the index.

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
        """Delete the session (missing is fine); with a store-made id, the
        record and its index member go together in one script.

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

        Reads the index, then one script deletes the sessions in the user's
        slot with their index members (sessions with ids this store did not
        make go one by one, in the same pipeline).

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
        """The credential, or ``None``: the owner pointer, then the record.

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
        # redis-py's asyncio Cluster client initialises itself on first use, and
        # a burst of concurrent first commands races that set-up (commands run
        # twice, raw AttributeErrors). We initialise it once, under a lock.
        self._ready = not isinstance(client, redis.asyncio.cluster.RedisCluster)
        self._init_lock: asyncio.Lock | None = None

    async def _ensure_ready(self) -> None:
        if self._init_lock is None:
            self._init_lock = asyncio.Lock()
        async with self._init_lock:
            if not self._ready:
                client = self.client
                assert isinstance(client, redis.asyncio.cluster.RedisCluster)
                await client.initialize()
                self._ready = True

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
            if not self._ready:
                await self._ensure_ready()
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
