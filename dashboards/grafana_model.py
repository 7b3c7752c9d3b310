"""A small typed model of the Grafana dashboards we ship, rendered to dashboard JSON.

Panels are described as data (title, description, queries, unit, size); :func:`render` lays
them out left to right on Grafana's 24-column grid, numbers them, and fills in the datasource
of every query. Influx queries filter by site and building only when the catalog says the
measurement carries those tags (:func:`scope`), so a query can never name a tag that its
measurement does not have.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from campusguard.catalog import Catalog

SCHEMA_VERSION: Final = 39
INFLUX_UID: Final = "campusguard-influxdb"
PROMETHEUS_UID: Final = "campusguard-prometheus"
INFLUX_DS: Final = {"type": "influxdb", "uid": INFLUX_UID}
PROMETHEUS_DS: Final = {"type": "prometheus", "uid": PROMETHEUS_UID}
GRID_WIDTH: Final = 24
TARGET_BPS: Final = 100_000_000  # 百兆到桌面: the 100 Mbit/s target
TZ: Final = "tz('Asia/Shanghai')"
VARIABLES: Final = ("site", "building")

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Query:
    """One target: InfluxQL (``influx``) or PromQL (``prometheus``)."""

    text: str
    lang: str = "influx"
    alias: str = ""
    table: bool = False

    def target(self, ref_id: str) -> JSON:
        if self.lang == "prometheus":
            return {
                "datasource": dict(PROMETHEUS_DS),
                "expr": self.text,
                "legendFormat": self.alias or "__auto",
                "range": not self.table,
                "instant": self.table,
                "refId": ref_id,
            }
        return {
            "datasource": dict(INFLUX_DS),
            "query": self.text,
            "rawQuery": True,
            "resultFormat": "table" if self.table else "time_series",
            "alias": self.alias,
            "refId": ref_id,
        }


@dataclass(frozen=True, slots=True)
class Panel:
    title: str
    description: str
    queries: tuple[Query, ...]
    kind: str = "timeseries"
    unit: str = "short"
    width: int = 12
    height: int = 8
    target_line: float | None = None
    mappings: tuple[JSON, ...] = ()


@dataclass(frozen=True, slots=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...]
    tags: tuple[str, ...] = ("campusguard",)
    variables: tuple[str, ...] = VARIABLES
    time_from: str = "now-24h"


BOOL_MAPPINGS: Final = (
    {
        "type": "value",
        "options": {
            "true": {"text": "是 (yes)", "color": "red", "index": 0},
            "false": {"text": "否 (no)", "color": "green", "index": 1},
        },
    },
)


def scope(
    catalog: Catalog, measurement: str, *conditions: str, variables: tuple[str, ...] = VARIABLES
) -> str:
    """The WHERE clause: the time filter, the dashboard's variables the measurement has as
    tags, and extra conditions."""
    spec = catalog.measurement(measurement)
    if spec is None:
        raise ValueError(f"measurement {measurement!r} is not in the catalog")
    parts = ["$timeFilter"]
    for tag in variables:
        if tag in spec.tag_names:
            parts.append(f'"{tag}" =~ /^${tag}$/')
    parts.extend(conditions)
    return "WHERE " + " AND ".join(parts)


def eq(key: str, value: str) -> str:
    """``"key" = 'value'`` (a tag or string field compared with a literal)."""
    return f"\"{key}\" = '{value}'"


def ne(key: str, value: str) -> str:
    return f"\"{key}\" != '{value}'"


def matches(key: str, pattern: str) -> str:
    return f'"{key}" =~ /{pattern}/'


def variable(name: str, label: str) -> JSON:
    query = f'SHOW TAG VALUES WITH KEY = "{name}"'
    if name != "site":
        query += ' WHERE "site" =~ /^$site$/'
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": dict(INFLUX_DS),
        "query": query,
        "definition": query,
        "refresh": 1,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {},
        "options": [],
        "sort": 1,
        "hide": 0,
        "regex": "",
    }


VARIABLE_LABELS: Final = {"site": "学校 (site)", "building": "楼宇 (building)"}


def _field_config(panel: Panel) -> JSON:
    steps: list[JSON] = [{"color": "green", "value": None}]
    if panel.target_line is not None:
        steps.append({"color": "red", "value": panel.target_line})
    defaults: JSON = {
        "unit": panel.unit,
        "thresholds": {"mode": "absolute", "steps": steps},
        "mappings": [dict(m) for m in panel.mappings],
    }
    if panel.kind == "timeseries" and panel.target_line is not None:
        defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
    return {"defaults": defaults, "overrides": []}


def _panel_json(panel: Panel, panel_id: int, x: int, y: int) -> JSON:
    ref_ids = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    datasource = PROMETHEUS_DS if panel.queries[0].lang == "prometheus" else INFLUX_DS
    options: JSON = {}
    if panel.kind in ("timeseries",):
        options = {"legend": {"displayMode": "table", "placement": "bottom", "showLegend": True}}
    elif panel.kind == "stat":
        options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
    elif panel.kind == "bargauge":
        options = {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": True},
            "orientation": "horizontal",
        }
    elif panel.kind == "table":
        options = {"showHeader": True}
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": dict(datasource),
        "gridPos": {"x": x, "y": y, "w": panel.width, "h": panel.height},
        "targets": [q.target(ref_ids[i]) for i, q in enumerate(panel.queries)],
        "fieldConfig": _field_config(panel),
        "options": options,
    }


def render(board: Dashboard) -> JSON:
    """The dashboard JSON Grafana's file provider loads."""
    panels: list[JSON] = []
    x = y = row_height = 0
    for number, panel in enumerate(board.panels, start=1):
        if not 0 < panel.width <= GRID_WIDTH:
            raise ValueError(f"panel {panel.title!r}: width {panel.width} not in 1..24")
        if x + panel.width > GRID_WIDTH:
            x, y, row_height = 0, y + row_height, 0
        panels.append(_panel_json(panel, number, x, y))
        x += panel.width
        row_height = max(row_height, panel.height)
    return {
        "uid": board.uid,
        "title": board.title,
        "description": board.description,
        "tags": list(board.tags),
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "timezone": "browser",
        "refresh": "1m",
        "time": {"from": board.time_from, "to": "now"},
        "annotations": {"list": []},
        "links": [],
        "templating": {"list": [variable(v, VARIABLE_LABELS[v]) for v in board.variables]},
        "panels": panels,
    }
