"""``POST /api/v1/reports`` and ``GET /api/v1/reports/{id}`` on the real app (TestClient)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from campusguard.config.loader import load_yaml
from campusguard.inventory import DEMO_WHDV, Inventory
from collector.app import create_app
from collector.settings import CollectorSettings
from tests.collector.reports import dataset
from tests.collector.reports.conftest import TOKEN, Written

AUTH = {"Authorization": f"Token {TOKEN}"}


@pytest.fixture(scope="module")
def client(written: Written) -> Iterator[TestClient]:
    settings = CollectorSettings(
        data_dir=written.data_dir,
        tokens=(TOKEN,),
        retention=100 * 365 * 86_400.0,
        retention_classes={"raw": {"keep": 100 * 365 * 86_400.0}},  # type: ignore[arg-type]
        retention_status=False,
    )
    app = create_app(settings)
    app.state.report_inventory = load_yaml(DEMO_WHDV, Inventory)
    with TestClient(app) as c:
        yield c


def test_create_list_download(client: TestClient) -> None:
    body = {
        "kind": "safety",
        "site": "whdv",
        "from": dataset.FROM,
        "to": dataset.TO,
        "lang": "en",
        "format": "html",
    }
    answer = client.post("/api/v1/reports", json=body, headers=AUTH)
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["has_data"] is True and made["date_from"] == dataset.FROM
    listed = client.get("/api/v1/reports", headers=AUTH).json()["reports"]
    assert made["id"] in {r["id"] for r in listed}
    got = client.get(made["url"], headers=AUTH)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/html")
    assert "Safe campus report" in got.text


def test_download_directly(client: TestClient) -> None:
    body = {
        "kind": "bandwidth",
        "site": "whdv",
        "from": dataset.FROM,
        "to": dataset.TO,
        "format": "html",
        "download": True,
    }
    answer = client.post("/api/v1/reports", json=body, headers=AUTH)
    assert answer.status_code == 200
    assert "网络带宽达标报告" in answer.text


def test_errors(client: TestClient) -> None:
    bad_dates = {"kind": "energy", "site": "whdv", "from": dataset.TO, "to": dataset.FROM}
    answer = client.post("/api/v1/reports", json=bad_dates, headers=AUTH)
    assert answer.status_code == 400 and "out of order" in answer.json()["message"]
    answer = client.post("/api/v1/reports", json={"kind": "energy", "site": "mars"}, headers=AUTH)
    assert answer.status_code == 400 and "unknown site 'mars'" in answer.json()["message"]
    assert client.post("/api/v1/reports", json={"kind": "weather"}, headers=AUTH).status_code == 400
    assert client.post("/api/v1/reports", json={"kind": "energy"}).status_code == 401
    assert client.get("/api/v1/reports/0123456789abcdef", headers=AUTH).status_code == 404
    assert client.get("/api/v1/reports/..%2Fsecret", headers=AUTH).status_code == 404
