"""The console over HTTP on a whole collector: cookies, CSRF on every POST, roles, lockout,
session timeout, the English switch, and API tokens with scopes."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from collector.console.i18n import STRINGS
from collector.console.store import CONSOLE_FILE, ConsoleStore
from collector.settings import CollectorSettings
from tests.collector.conftest import AppClient, SettingsFactory
from tests.collector.console.conftest import (
    FAST_KDF,
    USERS,
    ConsoleFactory,
    csrf_of,
    firing,
    raise_demo_alerts,
)
from tests.servers import wait_until


def test_strings_complete_in_both_languages() -> None:
    assert STRINGS["zh"].keys() == STRINGS["en"].keys()
    assert all(STRINGS["zh"][k] and STRINGS["en"][k] for k in STRINGS["zh"])


def test_login_cookie_csrf_and_roles(console_factory: ConsoleFactory) -> None:
    made = console_factory()
    stack = made.stack
    raise_demo_alerts(stack)
    smoke = firing(stack, "safety.smoke_detected")
    assert smoke is not None

    # not logged in: every page sends to the login form, which sets its own CSRF cookie
    anon = httpx.Client(base_url=made.url, timeout=10, follow_redirects=False)
    r = anon.get("/alerts?state=firing")
    assert r.status_code == 303
    assert r.headers["location"] == "/console/login?next=%2Fconsole%2Falerts%3Fstate%3Dfiring"
    form = anon.get("/login")
    assert "登录" in form.text and form.headers["x-frame-options"] == "DENY"
    # a login POST without the form's CSRF token is refused
    r = anon.post("/login", data={"username": "admin", "password": USERS["admin"]})
    assert r.status_code == 403 and "CSRF" in r.text
    r = anon.post(
        "/login",
        data={"username": "admin", "password": USERS["admin"], "csrf": "forged"},
    )
    assert r.status_code == 403
    # with it: a session cookie, HttpOnly and SameSite=Strict, and back where we were going
    token = csrf_of(form.text)
    r = anon.post(
        "/login",
        data={
            "username": "王老师",
            "password": USERS["王老师"],
            "csrf": token,
            "next": "/console/compliance",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/compliance"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("cg_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    # an open redirect through ?next= is not possible
    officer = made.login("王老师")
    assert officer.client.get("/login?next=//evil.example/").status_code == 200

    # the officer acknowledges: without the CSRF token refused (403), with it done, as 王老师
    r = officer.client.post(f"/alerts/{smoke['id']}/ack", data={"comment": "到场"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = officer.client.post(
        f"/alerts/{smoke['id']}/ack", data={"comment": "到场", "csrf": "x" * 43}
    )
    assert r.status_code == 403
    # the header form of the token works too (for scripts), the form field for forms
    r = officer.client.post(
        f"/alerts/{smoke['id']}/ack",
        data={"comment": "到场确认"},
        headers={"X-CSRF-Token": officer.csrf},
    )
    assert r.status_code == 303, r.text
    acked = stack.get(f"/api/v1/alerts/{smoke['id']}")
    assert acked["ack"]["by"] == "王老师" and acked["ack"]["channel"] == "console"
    assert acked["ack"]["comment"] == "到场确认"

    # the viewer sees the alerts but has no buttons, and is refused when posting anyway
    viewer = made.login("guest")
    page = viewer.client.get("/alerts").text
    assert "safety.gas_detected" in page and "ack-button" not in page
    assert "silence-button" not in page
    gas = firing(stack, "safety.gas_detected")
    assert gas is not None
    r = viewer.client.post(f"/alerts/{gas['id']}/ack", data={"csrf": viewer.csrf})
    assert r.status_code == 403
    r = viewer.client.post(
        "/silences", data={"csrf": viewer.csrf, "rule": "safety.gas_detected", "duration": "1h"}
    )
    assert r.status_code == 403
    r = viewer.client.post(
        "/drills", data={"csrf": viewer.csrf, "scenario": "fire", "site": "whdv"}
    )
    assert r.status_code == 403
    assert viewer.client.get("/audit").status_code == 403
    assert stack.get(f"/api/v1/alerts/{gas['id']}")["ack"] is None
    # the officer's CSRF token is not the viewer's
    r = viewer.client.post(f"/alerts/{gas['id']}/ack", data={"csrf": officer.csrf})
    assert r.status_code == 403

    # silence from the console: the silence carries the officer; then expire it
    r = officer.client.post(
        "/silences",
        data={
            "csrf": officer.csrf,
            "rule": "safety.gas_detected",
            "site": "whdv",
            "duration": "2h",
        },
    )
    assert r.status_code == 303
    silences = stack.get("/api/v1/silences")["silences"]
    assert [(s["created_by"], s["state"]) for s in silences] == [("王老师", "active")]
    assert wait_until(
        lambda: (firing(stack, "safety.gas_detected") or {}).get("muted") == "silenced", 5
    )
    r = officer.client.post(f"/silences/{silences[0]['id']}/expire", data={"csrf": officer.csrf})
    assert r.status_code == 303
    assert stack.get("/api/v1/silences")["silences"][0]["state"] == "expired"
    for bad in ({"duration": "0s"}, {"duration": "400d"}, {"rule": ""}, {"rule": "a b"}):
        data = {"csrf": officer.csrf, "rule": "safety.gas_detected", "duration": "1h", **bad}
        assert officer.client.post("/silences", data=data).status_code == 400

    # the audit log shows the console's actions with who did them
    audit = stack.get("/api/v1/audit")["entries"]
    actions = [(e["action"], e["actor"]) for e in audit]
    assert ("ack", "王老师") in actions and ("silence", "王老师") in actions
    assert ("console_login", "guest") in actions and ("console_login", "王老师") in actions
    assert "console_login" in officer.client.get("/audit").text

    # logout ends the session server-side: the old cookie no longer opens a page
    old = officer.client.cookies.get("cg_session")
    assert old
    r = officer.client.post("/logout", data={"csrf": officer.csrf})
    assert r.status_code == 303 and r.headers["location"] == "/console/login?out=1"
    assert officer.client.cookies.get("cg_session") is None  # the browser forgets it
    stale = httpx.Client(base_url=made.url, timeout=10, follow_redirects=False)
    stale.cookies.set("cg_session", old, path="/console")
    assert stale.get("/alerts").status_code == 303  # and the server forgot it too


def test_lockout_and_idle_timeout_over_http(console_factory: ConsoleFactory) -> None:
    made = console_factory(lockout_failures=3, lockout="1h", session_idle_timeout="1s")
    client = httpx.Client(base_url=made.url, timeout=10, follow_redirects=False)

    def attempt(password: str) -> httpx.Response:
        token = csrf_of(client.get("/login").text)
        return client.post(
            "/login", data={"username": "王老师", "password": password, "csrf": token}
        )

    assert attempt("wrong-1").status_code == 401
    assert attempt("wrong-2").status_code == 401
    locked = attempt("wrong-3")
    assert locked.status_code == 429 and "已锁定" in locked.text
    right = attempt(USERS["王老师"])  # refused while locked, with the same message
    assert right.status_code == 429 and "cg_session" not in right.headers.get("set-cookie", "")
    audit = made.stack.get("/api/v1/audit", actor="王老师")["entries"]
    assert [e["action"] for e in audit][:2] == ["console_login_failed", "console_lockout"]
    # setting a password (campusguard console user passwd) lifts it
    made.users.set_password("王老师", "brand-new-pass")
    assert attempt("brand-new-pass").status_code == 303

    # the session ends after 1 s without use: the next page asks to log in again
    viewer = made.login("guest")
    assert viewer.client.get("/alerts").status_code == 200
    time.sleep(1.3)
    r = viewer.client.get("/alerts")
    assert r.status_code == 303 and "expired=1" in r.headers["location"]
    r = viewer.client.post("/logout", data={"csrf": viewer.csrf})
    assert r.status_code == 403  # no session, no action


def test_english_switch_sticks(console_factory: ConsoleFactory) -> None:
    made = console_factory()
    admin = made.login("admin")
    assert "告警列表" in admin.client.get("/alerts").text
    r = admin.client.get("/alerts?lang=en")
    assert "<h1>Alerts</h1>" in r.text and 'lang="en"' in r.text
    assert "<h1>Alerts</h1>" in admin.client.get("/alerts").text  # the cookie keeps it
    assert "Graded-protection compliance" in admin.client.get("/compliance").text
    assert "告警列表" in admin.client.get("/alerts?lang=zh").text


def test_compliance_inventory_and_drill_pages(console_factory: ConsoleFactory) -> None:
    made = console_factory()
    stack = made.stack
    raise_demo_alerts(stack)
    now = time.time_ns()
    stack.write(
        f"device_status,site=whdv,building=admin,device=core-sw1,role=core up=true {now}\n"
        f"sensor_status,site=whdv,building=train,room=elec-lab,sensor=elec-lab-smoke-1,"
        f"kind=smoke online=false {now}"
    )
    admin = made.login("admin")
    page = admin.client.get("/compliance").text
    assert 'data-rule="safety.smoke_detected" class="status-fail"' in page
    assert "status-na" in page  # rules that saw no data yet are not assessable, not passing
    inventory = admin.client.get("/inventory").text
    assert 'data-sensor="elec-lab-smoke-1"' in inventory and "离线" in inventory
    # drills: start (speed 60), see it live, stop; both audited with the admin's name
    r = admin.client.post(
        "/drills", data={"csrf": admin.csrf, "scenario": "fire", "site": "whdv", "speed": "60"}
    )
    assert r.status_code == 303
    drill_url = r.headers["location"].removeprefix("/console")
    live = admin.client.get(drill_url + "/live").json()
    assert live["state"] == "running"
    r = admin.client.post("/drills", data={"csrf": admin.csrf, "scenario": "fire", "site": "whdv"})
    assert r.status_code == 409 and "running" in r.text  # one fire drill at a time per site
    r = admin.client.post("/drills", data={"csrf": admin.csrf, "scenario": "nope", "site": "whdv"})
    assert r.status_code == 404
    r = admin.client.post(drill_url + "/stop", data={"csrf": admin.csrf})
    assert r.status_code == 303
    assert admin.client.get(drill_url + "/live").json()["state"] == "stopped"
    assert admin.client.post(drill_url + "/stop", data={"csrf": admin.csrf}).status_code == 409
    audit = stack.get("/api/v1/audit")["entries"]
    assert ("drill_stop", "admin") in [(e["action"], e["actor"]) for e in audit]
    assert ("drill_start", "admin") in [(e["action"], e["actor"]) for e in audit]


def test_plain_collector_pages_and_disabled_console(
    make_settings: SettingsFactory, app_client_factory: Callable[[CollectorSettings], AppClient]
) -> None:
    """Without rules or alerting every page still answers, saying what is not configured;
    with ``console.enabled: false`` there is no console at all."""
    settings = make_settings(console=FAST_KDF)
    app = app_client_factory(settings)
    store = ConsoleStore(settings.data_dir / CONSOLE_FILE, settings.console)
    store.add_user("admin", USERS["admin"], "admin")
    client = app.client
    form = client.get("/console/login")
    r = client.post(
        "/console/login",
        data={"username": "admin", "password": USERS["admin"], "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    for path in ("alerts", "drills", "compliance", "audit"):
        page = client.get(f"/console/{path}")
        assert page.status_code == 200 and "未配置该功能" in page.text, path
    assert "未配置资产清单" in client.get("/console/inventory").text
    assert client.get("/console/reports").status_code == 200
    csrf = csrf_of(client.get("/console/alerts").text)
    r = client.post("/console/drills", data={"csrf": csrf, "scenario": "fire", "site": "whdv"})
    assert r.status_code == 503
    assert client.get("/console/static/console.css").status_code == 200
    store.close()

    off = app_client_factory(
        make_settings(data_dir=settings.data_dir / "off", console={"enabled": False})
    )
    assert off.client.get("/console/login").status_code == 404
