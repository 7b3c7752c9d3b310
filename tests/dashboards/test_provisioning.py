"""Grafana provisioning files: the structure Grafana reads, and they match the dashboards."""

from __future__ import annotations

from tests.dashboards.dashboard_files import (
    PROVISIONING,
    dashboard_paths,
    load_dashboard,
    load_yaml,
    targets,
)

DATASOURCES = PROVISIONING / "datasources" / "campusguard.yaml"
PROVIDERS = PROVISIONING / "dashboards" / "campusguard.yaml"


def test_datasources_file() -> None:
    doc = load_yaml(DATASOURCES)
    assert doc["apiVersion"] == 1
    sources = {d["uid"]: d for d in doc["datasources"]}
    assert sources.keys() == {"campusguard-influxdb", "campusguard-prometheus"}
    influx = sources["campusguard-influxdb"]
    assert influx["type"] == "influxdb" and influx["access"] == "proxy"
    assert influx["jsonData"]["dbName"] == "campusguard"
    assert "version" not in influx["jsonData"], "InfluxQL is the default query language"
    assert influx["url"].startswith("http://")
    prometheus = sources["campusguard-prometheus"]
    assert prometheus["type"] == "prometheus" and prometheus["url"].startswith("http://")
    assert sum(1 for d in doc["datasources"] if d.get("isDefault")) == 1
    for source in doc["datasources"]:
        assert {"name", "uid", "type", "access", "url"} <= source.keys()
        assert source["name"].startswith("CampusGuard")


def test_dashboards_use_only_provisioned_datasources() -> None:
    provisioned = {(d["uid"], d["type"]) for d in load_yaml(DATASOURCES)["datasources"]}
    for path in dashboard_paths():
        board = load_dashboard(path)
        used = {(p["datasource"]["uid"], p["datasource"]["type"]) for p in board["panels"]}
        used |= {(t["datasource"]["uid"], t["datasource"]["type"]) for _, t in targets(board)}
        used |= {
            (v["datasource"]["uid"], v["datasource"]["type"]) for v in board["templating"]["list"]
        }
        assert used <= provisioned, path.name


def test_dashboard_provider_file() -> None:
    doc = load_yaml(PROVIDERS)
    assert doc["apiVersion"] == 1
    (provider,) = doc["providers"]
    assert provider["type"] == "file"
    assert provider["orgId"] == 1
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/campusguard"
    assert provider["folder"] and provider["folderUid"] == "campusguard"
    assert provider["allowUiUpdates"] is False
