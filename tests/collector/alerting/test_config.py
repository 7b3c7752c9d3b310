"""The alerting config: cross-references and safe templates."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from campusguard.config.loader import load_yaml_text
from campusguard.errors import ConfigError
from collector.alerting.config import TEMPLATE_NAMES, AlertingConfig, check_template
from collector.alerting.model import Alert
from collector.alerting.templates import DEFAULT_TEMPLATES, render_line

GOOD = """
people:
  - {name: 王老师, email: wang@school.example}
receivers:
  - {name: hook, type: webhook, url: "http://127.0.0.1:9/h"}
chains:
  - name: main
    levels:
      - {receivers: [hook], people: [王老师]}
routes:
  - {match: {kind: smoke}, chain: main}
default_chain: main
"""


def test_good_config_loads() -> None:
    cfg = load_yaml_text(GOOD, AlertingConfig, "alerting.yaml")
    assert cfg.language == "zh" and cfg.chains[0].levels[0].people == ("王老师",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("receivers: [hook]", "receivers: [nope]"), "no receiver 'nope'"),
        (GOOD.replace("people: [王老师]", "people: [李老师]"), "no person '李老师'"),
        (GOOD.replace("default_chain: main", "default_chain: x"), "no chain 'x'"),
        (GOOD.replace("type: webhook", "type: pager"), "type"),
        (GOOD.replace("url:", "uri:"), "uri"),
    ],
)
def test_bad_config_refused_with_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_yaml_text(text, AlertingConfig, "alerting.yaml")
    assert "alerting.yaml:" in str(info.value) and message in str(info.value)


def test_levels_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="increasing"):
        AlertingConfig.model_validate(
            {
                "receivers": [{"name": "h", "type": "webhook", "url": "http://x"}],
                "chains": [
                    {"name": "c", "levels": [{"receivers": ["h"], "after": 60}]},
                ],
            }
        )


@pytest.mark.parametrize(
    "template",
    [
        "{title.__class__}",
        "{title[0]}",
        "{eval}",
        "{title!r}",
        "{title:{summary}}",
        "{",
        "{title:>999999999}",
        "{}",
        "{0}",
    ],
)
def test_unsafe_templates_refused(template: str) -> None:
    with pytest.raises(ValueError):
        check_template(template, TEMPLATE_NAMES["line"])


@given(st.text(max_size=40))
def test_any_template_is_refused_or_renders_without_touching_objects(text: str) -> None:
    try:
        check_template(text, TEMPLATE_NAMES["line"])
    except ValueError:
        return
    template = DEFAULT_TEMPLATES["en"].model_copy(update={"line": text})
    alert = Alert(
        "i", "r", "critical", {"site": "s"}, "firing", "t", "sum", 1.0, False, 0, None, "g"
    )
    rendered = render_line(template, alert)
    assert isinstance(rendered, str)
    fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    assert fields <= TEMPLATE_NAMES["line"]


def test_english_messages() -> None:
    alert = Alert(
        "abc",
        "safety.smoke",
        "critical",
        {"site": "whdv"},
        "firing",
        "Smoke",
        "smoke at a",
        1.0,
        True,
        0,
        None,
        "g",
    )
    line = render_line(DEFAULT_TEMPLATES["en"], alert)
    assert line == "[DRILL] [firing] Smoke: smoke at a (whdv, since 1970-01-01 08:00:00, id abc)"
