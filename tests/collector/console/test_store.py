"""Users and sessions: lockout after repeated failures, idle and absolute session expiry
(GB/T 22239-2019 8.1.4.1 b), tokens stored hashed, password changes ending sessions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from collector.console.settings import ConsoleSettings
from collector.console.store import ConsoleStore

NS = 1_000_000_000
T0 = 1_700_000_000 * NS


@pytest.fixture
def store(tmp_path: Path) -> ConsoleStore:
    settings = ConsoleSettings.model_validate(
        {
            "password_iterations": 100_000,
            "lockout_failures": 3,
            "lockout": "10m",
            "session_idle_timeout": "15m",
            "session_max_age": "8h",
        }
    )
    made = ConsoleStore(tmp_path / "console.sqlite3", settings)
    made.add_user("王老师", "correct-horse", "officer", now_ns=T0)
    return made


def test_add_user_checks(store: ConsoleStore) -> None:
    with pytest.raises(ValueError, match="exists"):
        store.add_user("王老师", "another-pass", "viewer")
    with pytest.raises(ValueError, match="role"):
        store.add_user("x", "another-pass", "root")
    with pytest.raises(ValueError, match="at least 8"):
        store.add_user("x", "short", "viewer")
    for bad in ("", "a b", "a\tb", "x" * 65):
        with pytest.raises(ValueError, match="user name"):
            store.add_user(bad, "another-pass", "viewer")
    assert [(u.name, u.role) for u in store.users()] == [("王老师", "officer")]


def test_password_is_stored_hashed(store: ConsoleStore) -> None:
    with sqlite3.connect(store.path) as db:
        (stored,) = db.execute("SELECT password FROM users").fetchone()
    assert stored.startswith("pbkdf2_sha256$100000$") and "correct-horse" not in stored


def test_lockout_after_failures_then_released(store: ConsoleStore) -> None:
    assert store.login("王老师", "wrong", T0).outcome == "bad"
    assert store.login("王老师", "wrong", T0 + NS).outcome == "bad"
    third = store.login("王老师", "wrong", T0 + 2 * NS)
    assert third.outcome == "locked" and third.just_locked
    assert third.locked_until_ns == T0 + 2 * NS + 600 * NS
    # locked: even the right password is refused, and says so
    during = store.login("王老师", "correct-horse", T0 + 300 * NS)
    assert during.outcome == "locked" and not during.just_locked
    # after the lockout the right password works and the count starts anew
    after = store.login("王老师", "correct-horse", T0 + 603 * NS)
    assert after.outcome == "ok" and after.user is not None and after.user.role == "officer"
    assert store.user("王老师") is not None
    user = store.user("王老师")
    assert user is not None and user.failures == 0 and user.locked_until_ns == 0


def test_success_resets_the_count(store: ConsoleStore) -> None:
    for i in range(2):
        assert store.login("王老师", "wrong", T0 + i).outcome == "bad"
    assert store.login("王老师", "correct-horse", T0 + 10).outcome == "ok"
    for i in range(2):
        assert store.login("王老师", "wrong", T0 + 20 + i).outcome == "bad"  # not locked
    assert store.login("王老师", "correct-horse", T0 + 30).outcome == "ok"


def test_failure_after_an_ended_lockout_counts_from_one(store: ConsoleStore) -> None:
    for i in range(3):
        store.login("王老师", "wrong", T0 + i)
    later = T0 + 700 * NS
    assert store.login("王老师", "wrong", later).outcome == "bad"  # 1 of 3, not locked again


def test_unknown_user_is_just_bad(store: ConsoleStore) -> None:
    for i in range(5):
        assert store.login("nobody", "whatever", T0 + i).outcome == "bad"
    assert [u.name for u in store.users()] == ["王老师"]


def test_passwd_lifts_lockout_and_ends_sessions(store: ConsoleStore) -> None:
    token, _ = store.create_session("王老师", T0)
    for i in range(3):
        store.login("王老师", "wrong", T0 + i)
    store.set_password("王老师", "new-password-1", T0 + 5)
    assert store.session(token, T0 + 6) is None
    assert store.login("王老师", "new-password-1", T0 + 7).outcome == "ok"
    assert store.login("王老师", "correct-horse", T0 + 8).outcome == "bad"
    with pytest.raises(ValueError, match="no user"):
        store.set_password("nobody", "new-password-1")


def test_session_idle_timeout_and_touch(store: ConsoleStore) -> None:
    token, made = store.create_session("王老师", T0)
    assert len(token) >= 40 and len(made.csrf) >= 40 and token != made.csrf
    # used every 10 minutes: stays alive past the 15-minute idle limit
    for minute in (10, 20, 30):
        found = store.session(token, T0 + minute * 60 * NS)
        assert found is not None and found.csrf == made.csrf and found.role == "officer"
    # then 15 minutes and one second without use: gone, and stays gone
    assert store.session(token, T0 + (30 * 60 + 15 * 60 + 1) * NS) is None
    assert store.session(token, T0 + 31 * 60 * NS) is None


def test_session_max_age(store: ConsoleStore) -> None:
    token, _ = store.create_session("王老师", T0)
    t = T0
    while t < T0 + 8 * 3600 * NS - 600 * NS:
        t += 600 * NS
        assert store.session(token, t) is not None
    assert store.session(token, T0 + 8 * 3600 * NS + NS) is None


def test_sessions_stored_as_hashes_and_logout(store: ConsoleStore) -> None:
    token, _ = store.create_session("王老师", T0)
    with sqlite3.connect(store.path) as db:
        rows = db.execute("SELECT token_hash FROM sessions").fetchall()
    assert rows and token not in str(rows)
    assert store.session("not-a-token", T0) is None
    store.end_session(token)
    assert store.session(token, T0 + 1) is None


def test_two_stores_share_one_file(store: ConsoleStore, tmp_path: Path) -> None:
    other = ConsoleStore(store.path, store.settings)
    token, _ = store.create_session("王老师", T0)
    assert other.session(token, T0 + NS) is not None
