"""What the InfluxDB backends share: encoding a write, the spooled sender, the HTTP answers.

A backend's :meth:`~SpooledInfluxStorage.write` encodes the metrics to line protocol and spools
them (:class:`.influx_sender.SpooledSender`); it returns once they are on disk. The sender posts
them to the database with the backend's ``post``. :func:`delivery_error` turns an HTTP status
into the right :class:`~campusguard.errors.DeliveryError`: 400/413/422 are refusals of the data
(the lines are narrowed down and set aside), everything else is retried.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from campusguard.errors import DeliveryError, StorageError
from campusguard.lineprotocol import encode_metric
from campusguard.metric import INT64_MAX, Metric, UInt
from campusguard.selfmetrics import SelfMetrics
from collector.storage.base import BatchId
from collector.storage.influx_sender import SenderOptions, SpooledSender

log = logging.getLogger(__name__)

REFUSED_STATUSES = frozenset({400, 413, 422})


def delivery_error(status: int, message: str, retry_after: str | None) -> DeliveryError:
    """The DeliveryError for an unsuccessful HTTP answer (``message`` is its error text)."""
    text = f"HTTP {status}: {message[:2000]}"
    if status in REFUSED_STATUSES:
        return DeliveryError(text, retry=False)
    return DeliveryError(text, retry=True, retry_after=parse_retry_after(retry_after))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds form; dates are ignored)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def maybe_gzip(body: bytes, enabled: bool) -> bytes:
    return gzip.compress(body, compresslevel=1) if enabled else body


class SpooledInfluxStorage:
    """Base of the InfluxDB backends: spooled writes; subclasses give ``_post`` and reads."""

    name = "influxdb"

    def __init__(
        self,
        state_dir: Path,
        options: SenderOptions | None = None,
        metrics: SelfMetrics | None = None,
        *,
        unsigned_as_int: bool = False,
    ) -> None:
        self.metrics = metrics if metrics is not None else SelfMetrics("collector")
        self.sender = SpooledSender(
            self.name,
            state_dir,
            self._post,
            options or SenderOptions(),
            self.metrics,
            prepare=self._prepare,
        )
        self._unsigned_as_int = unsigned_as_int
        self._counters = self.metrics.stage(self.name, "storage")

    # -- subclass hooks ----------------------------------------------------------------------

    def _post(self, body: bytes) -> None:
        raise NotImplementedError

    def _prepare(self) -> None:
        """Make the database ready (create it, check retention); DeliveryError if unreachable."""

    # -- Storage: life cycle and writes ------------------------------------------------------

    def open(self) -> None:
        """Open the spool and start the sender; set the database up now if it answers (a
        configuration problem such as a too-short retention is raised here), else later."""
        if self.sender.is_open:
            return
        try:
            self._prepare()
        except DeliveryError as exc:
            log.warning("%s: database not reachable at open (%s); spooling", self.name, exc)
        else:
            self.sender.prepared()
        self.sender.open()

    def close(self) -> None:
        self.sender.close()

    def write(self, metrics: Sequence[Metric], batch: BatchId | None = None) -> bool:
        if batch is not None and self.sender.ledger.seen(batch):
            return False
        lines: list[str] = []
        dead: list[tuple[bytes, str]] = []
        for given in metrics:
            m = given
            if self._unsigned_as_int:
                m, why = _unsigned_to_int(given)
                if why:
                    dead.append((encode_metric(m).encode("utf-8"), why))
                    continue
            try:
                lines.append(encode_metric(m))
            except (ValueError, TypeError) as exc:
                raise StorageError(f"cannot encode {m.measurement!r}: {exc}") from exc
        if dead:
            self.sender.dead_letters.add(dead)
            self._counters.dropped("dead_letter", len(dead))
        if not lines:
            return True
        body = ("\n".join(lines) + "\n").encode("utf-8")
        return self.sender.append(body, len(lines), batch)

    def write_encoded(self, body: bytes, batch: BatchId | None = None) -> bool:
        """Spool a body of line protocol as it is, without parsing or encoding it again.

        The fast path for a caller that already holds validated line protocol in which every
        line carries a nanosecond timestamp (a line without one would get the database's clock
        at each delivery, so a retried batch could be stored twice). Lines the database refuses
        go to the dead-letter file like any other.
        """
        if batch is not None and self.sender.ledger.seen(batch):
            return False
        if not body.strip():
            return True
        if not body.endswith(b"\n"):
            body += b"\n"
        return self.sender.append(body, body.count(b"\n"), batch)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything spooled has been delivered (tests, benchmarks, shutdown)."""
        return self.sender.wait_empty(timeout)

    @property
    def pending_records(self) -> int:
        return self.sender.spool.pending_records

    def apply_retention(self, now_ns: int) -> int:
        """The database applies its own retention policies; nothing to delete here."""
        return 0


def _unsigned_to_int(m: Metric) -> tuple[Metric, str]:
    """InfluxDB 1.x OSS has no unsigned fields: write them as integers (the metric and ""),
    or (the metric, why) when a value does not fit int64."""
    if not any(isinstance(v, UInt) for v in m.fields.values()):
        return m, ""
    fields: dict[str, object] = {}
    for key, value in m.fields.items():
        if isinstance(value, UInt):
            if value > INT64_MAX:
                return m, f"unsigned field {key!r} = {int(value)} does not fit InfluxDB 1.x int64"
            fields[key] = int(value)
        else:
            fields[key] = value
    return Metric(m.measurement, m.tags, dict(_typed(fields)), m.time_ns), ""


def _typed(fields: Mapping[str, object]) -> Mapping[str, float | int | str | bool]:
    out: dict[str, float | int | str | bool] = {}
    for k, v in fields.items():
        assert isinstance(v, float | int | str | bool)
        out[k] = v
    return out
