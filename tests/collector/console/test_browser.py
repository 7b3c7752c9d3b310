"""The console in a real headless Chromium (Debian ``chromium`` + ``chromium-driver``, driven
by Selenium) against a real collector under uvicorn with demo-like alerts: log in, see the
alerts, acknowledge one, start a drill and watch an acknowledgement arrive live, stop it,
generate and download a report, switch to English; a viewer cannot acknowledge; a POST without the CSRF
token is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.collector.console.conftest import (
    USERS,
    ConsoleFactory,
    ConsoleStack,
    firing,
    raise_demo_alerts,
)
from tests.conftest import require_binary

WAIT_S = 20


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    chromium = require_binary("chromium", "chromium")
    driver_path = require_binary("chromedriver", "chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile: Path = tmp_path_factory.mktemp("chromium-profile")
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(WAIT_S)
    driver.set_script_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: WebDriver) -> WebDriverWait[WebDriver]:
    # the drill page replaces its parts every 2 s: an element found just before that is stale
    return WebDriverWait(
        driver, WAIT_S, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
    )


def _login(driver: WebDriver, made: ConsoleStack, name: str, start: str = "/alerts") -> None:
    driver.delete_all_cookies()
    driver.get(made.url + start)
    _wait(driver).until(ec.presence_of_element_located((By.ID, "username")))
    assert "/console/login" in driver.current_url
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(USERS[name])
    driver.find_element(By.ID, "login").click()
    _wait(driver).until(ec.presence_of_element_located((By.ID, "whoami")))
    assert name in driver.find_element(By.ID, "whoami").text


def _post_status(driver: WebDriver, path: str, fields: dict[str, str]) -> Any:
    """POST a form from the page's own JavaScript (same origin, with the session cookie)."""
    return driver.execute_async_script(
        """
        const [path, fields, done] = arguments;
        fetch(path, {method: "POST", body: new URLSearchParams(fields), redirect: "manual"})
          .then((r) => done(r.status), (e) => done(String(e)));
        """,
        path,
        fields,
    )


def _page_csrf(driver: WebDriver) -> str:
    field = driver.find_element(By.CSS_SELECTOR, "form input[name=csrf]")
    value = field.get_attribute("value")
    assert value
    return value


def test_officer_acks_runs_a_drill_and_reports(
    browser: WebDriver, console_factory: ConsoleFactory
) -> None:
    made = console_factory()
    stack = made.stack
    raise_demo_alerts(stack)
    smoke = firing(stack, "safety.smoke_detected")
    gas = firing(stack, "safety.gas_detected")
    assert smoke is not None and gas is not None

    # log in (Chinese by default) and see the demo alerts
    _login(browser, made, "王老师")
    assert browser.find_element(By.TAG_NAME, "h1").text == "告警列表"
    rules = {
        r.get_attribute("data-rule") for r in browser.find_elements(By.CSS_SELECTOR, "tr.alert")
    }
    assert {"safety.smoke_detected", "safety.gas_detected"} <= rules

    # acknowledge the smoke alert with a comment: the ack carries the logged-in user
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-alert="{smoke["id"]}"]')
    row.find_element(By.CSS_SELECTOR, "form.ack input[name=comment]").send_keys("已到场，误报")
    row.find_element(By.CSS_SELECTOR, ".ack-button").click()
    _wait(browser).until(ec.presence_of_element_located((By.ID, "flash")))
    assert browser.find_element(By.ID, "flash").text == "已确认告警"
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-alert="{smoke["id"]}"]')
    assert "王老师" in row.find_element(By.CSS_SELECTOR, "td.acked").text
    assert not row.find_elements(By.CSS_SELECTOR, ".ack-button")
    acked = stack.get(f"/api/v1/alerts/{smoke['id']}")["ack"]
    assert acked["by"] == "王老师" and acked["channel"] == "console"
    assert acked["comment"] == "已到场，误报"

    # a POST without the CSRF token is refused, even from the logged-in page itself
    assert _post_status(browser, f"/console/alerts/{gas['id']}/ack", {"comment": "x"}) == 403
    assert stack.get(f"/api/v1/alerts/{gas['id']}")["ack"] is None

    # start a fire drill at the demo school (60x speed) from the form
    browser.get(made.url + "/drills")
    Select(browser.find_element(By.ID, "d-scenario")).select_by_value("fire")
    Select(browser.find_element(By.ID, "d-site")).select_by_value("whdv")
    speed = browser.find_element(By.ID, "d-speed")
    speed.clear()
    speed.send_keys("60")
    browser.find_element(By.ID, "d-start").click()
    _wait(browser).until(ec.presence_of_element_located((By.ID, "drill-state")))
    assert browser.find_element(By.ID, "drill-state").text == "进行中"
    drill_id = browser.current_url.rstrip("/").rsplit("/", 1)[1]
    # the page refreshes itself: the drill's alert appears without a reload...
    _wait(browser).until(lambda d: d.find_element(By.ID, "drill-alerts").text not in ("", "0"))
    drill_alerts = stack.get("/api/v1/alerts", drill="true")["alerts"]
    assert drill_alerts and all(a["labels"]["drill_id"] == drill_id for a in drill_alerts)
    # ...and so does an acknowledgement made elsewhere (a duty phone through the API)
    stack.post(f"/api/v1/alerts/{drill_alerts[0]['id']}/ack", {"user": "李主任", "channel": "api"})
    _wait(browser).until(lambda d: "李主任" in d.find_element(By.ID, "drill-acks").text)
    assert browser.find_element(By.ID, "drill-state").text == "进行中"
    browser.find_element(By.ID, "d-stop").click()
    _wait(browser).until(lambda d: d.find_element(By.ID, "drill-state").text == "已结束")
    record = stack.get(f"/api/v1/drills/{drill_id}")
    assert record["state"] == "stopped" and record["stopped_by"] == "王老师"
    assert record["started_by"] == "王老师"
    assert [a["user"] for a in record["acks"]] == ["李主任"]

    # reports: make the drill report from the form (HTML), then download it with the session
    browser.get(made.url + "/reports")
    Select(browser.find_element(By.ID, "r-kind")).select_by_value("drill")
    Select(browser.find_element(By.ID, "r-site")).select_by_value("whdv")
    Select(browser.find_element(By.ID, "r-format")).select_by_value("html")
    browser.find_element(By.ID, "r-generate").click()
    _wait(browser).until(
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, "tr.made a.download")
            or d.find_elements(By.ID, "report-error")
        )
    )
    assert not browser.find_elements(By.ID, "report-error"), browser.page_source[:3000]
    assert browser.find_element(By.ID, "flash").text == "报告已生成"
    href = browser.find_element(By.CSS_SELECTOR, "tr.made a.download").get_attribute("href")
    assert href is not None
    cookie = browser.get_cookie("cg_session")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    got = httpx.get(href, cookies={"cg_session": cookie["value"]}, timeout=30)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/html")
    assert "attachment" in got.headers["content-disposition"]
    assert drill_id in got.text or "演练" in got.text
    assert httpx.get(href, timeout=10, follow_redirects=False).status_code == 303  # no session
    listed = stack.get("/api/v1/reports")["reports"]
    assert [r["kind"] for r in listed] == ["drill"]

    # English on request; the audit log is there for an officer
    browser.find_element(By.ID, "lang-switch").click()
    _wait(browser).until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "Reports")
    browser.get(made.url + "/audit")
    actions = [
        r.get_attribute("data-action") for r in browser.find_elements(By.CSS_SELECTOR, "#audit tr")
    ]
    assert {"ack", "drill_start", "drill_stop", "console_login", "report"} <= set(actions)
    browser.find_element(By.ID, "logout").click()
    _wait(browser).until(ec.presence_of_element_located((By.ID, "username")))


def test_viewer_sees_but_cannot_acknowledge(
    browser: WebDriver, console_factory: ConsoleFactory
) -> None:
    made = console_factory()
    stack = made.stack
    raise_demo_alerts(stack)
    gas = firing(stack, "safety.gas_detected")
    assert gas is not None
    _login(browser, made, "guest")
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.alert")
    assert len(rows) >= 2
    assert not browser.find_elements(By.CSS_SELECTOR, ".ack-button, .silence-button")
    assert not browser.find_elements(By.LINK_TEXT, "审计日志")
    # even with the session's own CSRF token, the server refuses a viewer's acknowledgement
    token = _page_csrf(browser)
    status = _post_status(browser, f"/console/alerts/{gas['id']}/ack", {"csrf": token})
    assert status == 403
    assert stack.get(f"/api/v1/alerts/{gas['id']}")["ack"] is None
    browser.get(made.url + "/drills")
    assert not browser.find_elements(By.ID, "d-start")
    browser.get(made.url + "/audit")
    assert browser.find_element(By.ID, "refused").text == "无权执行此操作"
