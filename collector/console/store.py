"""The console's users and sessions: their own SQLite file (``<data_dir>/console.sqlite3``).

- **users**: name, role (admin, officer, viewer), PBKDF2 password hash, consecutive failed
  logins and the time a lockout ends. After ``lockout_failures`` failures in a row the account
  is locked for ``lockout`` (GB/T 22239-2019 8.1.4.1 b); a correct password during a lockout is
  refused too, and a success resets the count. An unknown user name costs the same hash as a
  known one, so timing does not tell which names exist.
- **sessions**: random tokens (256 bits) of which only the SHA-256 is stored; each has its own
  CSRF token, ends after ``session_idle_timeout`` without use or ``session_max_age`` in all.

One connection under a lock, opened on first use (WAL: two apps or processes can share the
file); :meth:`ConsoleStore.close` closes it.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from campusguard.errors import StorageError
from collector.console.passwords import hash_password, needs_rehash, verify_password
from collector.console.settings import ConsoleSettings

__all__ = ["ROLES", "ConsoleStore", "LoginResult", "Role", "Session", "User", "check_username"]

Role = Literal["admin", "officer", "viewer"]
ROLES: Final[tuple[Role, ...]] = ("admin", "officer", "viewer")
NS: Final = 1_000_000_000
CONSOLE_FILE: Final = "console.sqlite3"

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, password TEXT NOT NULL,
    created_ns INTEGER NOT NULL, changed_ns INTEGER NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0, locked_until_ns INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, user TEXT NOT NULL, csrf TEXT NOT NULL,
    created_ns INTEGER NOT NULL, seen_ns INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_seen ON sessions (seen_ns);
"""


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    created_ns: int
    changed_ns: int
    failures: int
    locked_until_ns: int


@dataclass(frozen=True, slots=True)
class Session:
    user: str
    role: Role
    csrf: str
    created_ns: int
    seen_ns: int


@dataclass(frozen=True, slots=True)
class LoginResult:
    """``outcome``: ``ok``, ``bad`` (unknown user or wrong password) or ``locked``."""

    outcome: Literal["ok", "bad", "locked"]
    user: User | None = None
    locked_until_ns: int = 0
    just_locked: bool = False


def check_username(name: str) -> str:
    """A user name: 1 to 64 printable characters without spaces (Chinese names are fine)."""
    if not 1 <= len(name) <= 64 or any(c.isspace() or not c.isprintable() for c in name):
        raise ValueError("a user name is 1 to 64 printable characters without spaces")
    return name


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ConsoleStore:
    """See the module docstring."""

    def __init__(self, path: Path, settings: ConsoleSettings) -> None:
        self.path = path
        self.settings = settings
        self._dummy: str | None = None
        self._dummy_lock = threading.Lock()
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None  # opened on first use, not at app build

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """The store's one connection (opened on first use), under the store's lock."""
        with self._lock:
            try:
                if self._conn is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    conn = sqlite3.connect(
                        self.path, timeout=10, isolation_level=None, check_same_thread=False
                    )
                    conn.execute("PRAGMA journal_mode = WAL")
                    conn.execute("PRAGMA synchronous = NORMAL")
                    conn.executescript(_SCHEMA)
                    self._conn = conn
            except (OSError, sqlite3.Error) as exc:
                raise StorageError(f"cannot open the console store {self.path}: {exc}") from exc
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise StorageError(f"console store {self.path}: {exc}") from exc

    def close(self) -> None:
        """Close the connection (a later call opens it again)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # ------------------------------------------------------------------ users

    def _check_password(self, password: str) -> None:
        if len(password) < self.settings.password_min_length:
            raise ValueError(
                f"the password must be at least {self.settings.password_min_length} characters"
            )

    def add_user(self, name: str, password: str, role: str, now_ns: int | None = None) -> User:
        """A new user; ValueError for a bad name, role or password, or a name taken."""
        check_username(name)
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        self._check_password(password)
        hashed = hash_password(password, self.settings.password_iterations)
        now = time.time_ns() if now_ns is None else now_ns
        with self._db() as db:
            try:
                db.execute(
                    "INSERT INTO users (name, role, password, created_ns, changed_ns) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (name, role, hashed, now, now),
                )
            except sqlite3.IntegrityError:
                raise ValueError(f"user {name!r} exists already") from None
        found = self.user(name)
        assert found is not None
        return found

    def set_password(self, name: str, password: str, now_ns: int | None = None) -> None:
        """Replace a user's password (and lift a lockout); their sessions end."""
        self._check_password(password)
        hashed = hash_password(password, self.settings.password_iterations)
        now = time.time_ns() if now_ns is None else now_ns
        with self._db() as db:
            changed = db.execute(
                "UPDATE users SET password = ?, changed_ns = ?, failures = 0, "
                "locked_until_ns = 0 WHERE name = ?",
                (hashed, now, name),
            ).rowcount
            if not changed:
                raise ValueError(f"no user {name!r}")
            db.execute("DELETE FROM sessions WHERE user = ?", (name,))

    def user(self, name: str) -> User | None:
        with self._db() as db:
            row = db.execute(
                "SELECT name, role, created_ns, changed_ns, failures, locked_until_ns "
                "FROM users WHERE name = ?",
                (name,),
            ).fetchone()
        return User(*row) if row else None

    def users(self) -> list[User]:
        with self._db() as db:
            rows = db.execute(
                "SELECT name, role, created_ns, changed_ns, failures, locked_until_ns "
                "FROM users ORDER BY name"
            ).fetchall()
        return [User(*row) for row in rows]

    # ------------------------------------------------------------------ login

    def _dummy_hash(self) -> str:
        with self._dummy_lock:
            if self._dummy is None:
                self._dummy = hash_password(secrets.token_hex(8), self.settings.password_iterations)
            return self._dummy

    def login(self, name: str, password: str, now_ns: int | None = None) -> LoginResult:
        """Check a password, counting failures and locking the account after too many."""
        now = time.time_ns() if now_ns is None else now_ns
        with self._db() as db:
            row = db.execute(
                "SELECT password, locked_until_ns FROM users WHERE name = ?", (name,)
            ).fetchone()
        if row is None:
            verify_password(password, self._dummy_hash())  # same cost as a known name
            return LoginResult("bad")
        stored, locked_until = str(row[0]), int(row[1])
        if locked_until > now:
            return LoginResult("locked", locked_until_ns=locked_until)
        if not verify_password(password, stored):
            return self._failed(name, now)
        with self._db() as db:
            db.execute("UPDATE users SET failures = 0, locked_until_ns = 0 WHERE name = ?", (name,))
            if needs_rehash(stored, self.settings.password_iterations):
                db.execute(
                    "UPDATE users SET password = ? WHERE name = ?",
                    (hash_password(password, self.settings.password_iterations), name),
                )
        return LoginResult("ok", self.user(name))

    def _failed(self, name: str, now: int) -> LoginResult:
        """Count a failure (read and written under the lock: parallel guesses all count)."""
        with self._db() as db:
            row = db.execute(
                "SELECT failures, locked_until_ns FROM users WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                return LoginResult("bad")
            failures, locked_until = int(row[0]), int(row[1])
            if locked_until > now:
                return LoginResult("locked", locked_until_ns=locked_until)
            failures = (0 if locked_until else failures) + 1  # an ended lockout starts anew
            lock = failures >= self.settings.lockout_failures
            until = now + round(self.settings.lockout * NS) if lock else 0
            db.execute(
                "UPDATE users SET failures = ?, locked_until_ns = ? WHERE name = ?",
                (0 if lock else failures, until, name),
            )
        if lock:
            return LoginResult("locked", locked_until_ns=until, just_locked=True)
        return LoginResult("bad")

    # ------------------------------------------------------------------ sessions

    def create_session(self, name: str, now_ns: int | None = None) -> tuple[str, Session]:
        """A new session for user ``name``: its cookie token (kept only hashed) and itself."""
        now = time.time_ns() if now_ns is None else now_ns
        user = self.user(name)
        if user is None:
            raise ValueError(f"no user {name!r}")
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        self._purge(now)
        with self._db() as db:
            db.execute(
                "INSERT INTO sessions (token_hash, user, csrf, created_ns, seen_ns) "
                "VALUES (?, ?, ?, ?, ?)",
                (_digest(token), name, csrf, now, now),
            )
        return token, Session(name, user.role, csrf, now, now)

    def session(self, token: str, now_ns: int | None = None, touch: bool = True) -> Session | None:
        """The live session of a cookie token (its idle clock restarted), or None."""
        now = time.time_ns() if now_ns is None else now_ns
        key = _digest(token)
        with self._db() as db:
            row = db.execute(
                "SELECT s.user, u.role, s.csrf, s.created_ns, s.seen_ns FROM sessions s "
                "JOIN users u ON u.name = s.user WHERE s.token_hash = ?",
                (key,),
            ).fetchone()
            if row is None:
                return None
            found = Session(*row)
            if self._expired(found, now):
                db.execute("DELETE FROM sessions WHERE token_hash = ?", (key,))
                return None
            if touch:
                db.execute("UPDATE sessions SET seen_ns = ? WHERE token_hash = ?", (now, key))
        return found

    def end_session(self, token: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE token_hash = ?", (_digest(token),))

    def _expired(self, session: Session, now: int) -> bool:
        idle = now - session.seen_ns > self.settings.session_idle_timeout * NS
        return idle or now - session.created_ns > self.settings.session_max_age * NS

    def _purge(self, now: int) -> None:
        idle_ns = round(self.settings.session_idle_timeout * NS)
        age_ns = round(self.settings.session_max_age * NS)
        with self._db() as db:
            db.execute(
                "DELETE FROM sessions WHERE seen_ns < ? OR created_ns < ?",
                (now - idle_ns, now - age_ns),
            )
