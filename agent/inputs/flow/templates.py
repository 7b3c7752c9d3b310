"""The NetFlow v9 / IPFIX template cache, keyed by exporter, dialect, source id (observation
domain) and template id; with the sampling rates and system init times learned from options
records. It serialises to JSON so that the agent can persist it and, after a restart, decode
the first data datagram without waiting for the exporter to resend its templates."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from campusguard.errors import PluginError

Dialect = Literal["netflow9", "ipfix"]
TemplateKey = tuple[str, str, int, int]  # exporter, dialect, domain, template id
DomainKey = tuple[str, str, int]
DEFAULT_SAMPLER = -1
FORMAT_VERSION = 1
T = TypeVar("T")


@dataclass(frozen=True)
class FieldSpec:
    field_id: int
    length: int  # 65535 = variable length
    enterprise: int = 0


@dataclass(frozen=True)
class Template:
    template_id: int
    fields: tuple[FieldSpec, ...]
    scope_count: int = 0  # options templates: how many leading fields are scope fields
    options: bool = False


class TemplateCache:
    """Templates and options-record state of every exporter. Bounded: beyond ``max_templates``
    the oldest template is forgotten (the exporter resends templates periodically).
    ``generation`` goes up on every change (a template added, changed or forgotten, a new
    sampling rate or init time); storing what is already there is not a change."""

    def __init__(self, max_templates: int = 65536) -> None:
        self.max_templates = max_templates
        self._templates: dict[TemplateKey, Template] = {}
        self._sampling: dict[DomainKey, dict[int, int]] = {}
        self._init_ms: dict[DomainKey, int] = {}
        self._compiled: dict[TemplateKey, Any] = {}
        self._raw: dict[TemplateKey, bytes] = {}
        self.generation = 0

    def __len__(self) -> int:
        return len(self._templates)

    def get(
        self, exporter: str, dialect: Dialect, domain: int, template_id: int
    ) -> Template | None:
        return self._templates.get((exporter, dialect, domain, template_id))

    def put(self, exporter: str, dialect: Dialect, domain: int, template: Template) -> None:
        key = (exporter, dialect, domain, template.template_id)
        old = self._templates.pop(key, None)
        self._templates[key] = template
        if old != template:
            self._compiled.pop(key, None)
            self._raw.pop(key, None)
            self.generation += 1
        while len(self._templates) > self.max_templates:
            self._forget(next(iter(self._templates)))

    def _forget(self, key: TemplateKey) -> bool:
        self._compiled.pop(key, None)
        self._raw.pop(key, None)
        if self._templates.pop(key, None) is None:
            return False
        self.generation += 1
        return True

    def seen_raw(self, key: TemplateKey, raw: bytes) -> bool:
        """Whether ``raw`` is the exact template record already stored under ``key`` (an
        exporter resending its templates need not be parsed again)."""
        return key in self._templates and self._raw.get(key) == raw

    def remember_raw(self, key: TemplateKey, raw: bytes) -> None:
        if key in self._templates:
            self._raw[key] = raw

    def withdraw(self, exporter: str, dialect: Dialect, domain: int, template_id: int) -> int:
        """Forget one template; returns how many were withdrawn (0 or 1)."""
        return 1 if self._forget((exporter, dialect, domain, template_id)) else 0

    def withdraw_all(self, exporter: str, dialect: Dialect, domain: int, options: bool) -> int:
        """Forget every (options) template of one domain (IPFIX set id 2/3 withdrawal)."""
        doomed = [
            key
            for key, tpl in self._templates.items()
            if key[:3] == (exporter, dialect, domain) and tpl.options == options
        ]
        for key in doomed:
            self._forget(key)
        return len(doomed)

    def compiled(self, key: TemplateKey, build: Callable[[Template], T]) -> T | None:
        """The compiled form of the template under ``key`` (built once), None if unknown."""
        found = self._compiled.get(key)
        if found is None:
            template = self._templates.get(key)
            if template is None:
                return None
            found = self._compiled[key] = build(template)
        result: T = found
        return result

    def set_sampling(
        self, exporter: str, dialect: Dialect, domain: int, sampler: int | None, rate: int
    ) -> None:
        table = self._sampling.setdefault((exporter, dialect, domain), {})
        before = dict(table)
        table[DEFAULT_SAMPLER if sampler is None else sampler] = rate
        if sampler is not None:
            table.setdefault(DEFAULT_SAMPLER, rate)
        if table != before:
            self.generation += 1

    def sampling(self, exporter: str, dialect: Dialect, domain: int) -> dict[int, int]:
        """Sampler id -> rate (key -1: the exporter's rate when records name no sampler)."""
        return self._sampling.get((exporter, dialect, domain), {})

    def set_init_ms(self, exporter: str, dialect: Dialect, domain: int, init_ms: int) -> None:
        key = (exporter, dialect, domain)
        if self._init_ms.get(key) != init_ms:
            self._init_ms[key] = init_ms
            self.generation += 1

    def init_ms(self, exporter: str, dialect: Dialect, domain: int) -> int | None:
        return self._init_ms.get((exporter, dialect, domain))

    # -- persistence -------------------------------------------------------------------------

    def to_json(self) -> str:
        templates = [
            {
                "exporter": key[0],
                "dialect": key[1],
                "domain": key[2],
                "id": tpl.template_id,
                "scope_count": tpl.scope_count,
                "options": tpl.options,
                "fields": [[f.field_id, f.length, f.enterprise] for f in tpl.fields],
            }
            for key, tpl in self._templates.items()
        ]
        sampling = [
            {"exporter": k[0], "dialect": k[1], "domain": k[2], "sampler": s, "rate": r}
            for k, table in self._sampling.items()
            for s, r in table.items()
        ]
        init = [
            {"exporter": k[0], "dialect": k[1], "domain": k[2], "init_ms": v}
            for k, v in self._init_ms.items()
        ]
        doc = {"format": FORMAT_VERSION, "templates": templates, "sampling": sampling}
        doc["init_ms"] = init
        return json.dumps(doc, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str, max_templates: int = 65536) -> TemplateCache:
        """Load a cache saved by ``to_json``; a damaged file raises ``PluginError``."""
        cache = cls(max_templates)
        try:
            doc = json.loads(text)
            if doc.get("format") != FORMAT_VERSION:
                raise ValueError(f"unknown template cache format {doc.get('format')!r}")
            for t in doc["templates"]:
                fields = tuple(FieldSpec(int(f[0]), int(f[1]), int(f[2])) for f in t["fields"])
                tpl = Template(int(t["id"]), fields, int(t["scope_count"]), bool(t["options"]))
                cache.put(str(t["exporter"]), _dialect(t["dialect"]), int(t["domain"]), tpl)
            for s in doc["sampling"]:
                key = (str(s["exporter"]), _dialect(s["dialect"]), int(s["domain"]))
                cache._sampling.setdefault(key, {})[int(s["sampler"])] = int(s["rate"])
            for i in doc["init_ms"]:
                key = (str(i["exporter"]), _dialect(i["dialect"]), int(i["domain"]))
                cache._init_ms[key] = int(i["init_ms"])
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            raise PluginError(f"bad template cache: {exc}", reason="template_cache") from exc
        return cache


def _dialect(value: object) -> Dialect:
    if value == "netflow9":
        return "netflow9"
    if value == "ipfix":
        return "ipfix"
    raise ValueError(f"unknown dialect {value!r}")
