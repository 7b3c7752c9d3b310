"""InfluxDB v2 write API backend on ``influxdb-client``: InfluxDB 2.x, 3.x, Cloud, 1.8+ through
its compatibility API, and anything else that speaks ``/api/v2/write`` (VictoriaMetrics).

Writes are spooled and sent by :class:`.influx_sender.SpooledSender`. Each request goes through
``influxdb_client``'s documented synchronous write API (``InfluxDBClient(url, token, org,
enable_gzip=...)``, ``write_api(write_options=SYNCHRONOUS).write(bucket, org, record=bytes)``)
with the spooled line protocol as one pre-encoded ``bytes`` record, so the client does not
serialise anything again. With ``gzip`` (the default) the body is compressed here at level 1 and
posted through the client's ``WriteService.post_write(..., content_encoding="gzip")``, the call
``write_api`` makes underneath: the client's own ``enable_gzip`` compresses at level 9, 114 ms
per 5,000 campus points (44k points/s at most on one core) against 5 ms at level 1, and
``write_api.write`` does not pass a ``content_encoding`` through. Its own retries stay off: ours (backoff, jitter, ``Retry-After``,
partial writes to the dead-letter file) are in the sender.

Reads (``series``, ``query``, ``counts_by_measurement``) go through InfluxQL ``/query`` with
``db=<bucket>`` and the token when ``influxql`` is on: InfluxDB 1.8+ and 3.x have that endpoint,
2.x needs a DBRP mapping for the bucket (``influx v1 dbrp create``); only the 1.x path is tested
here, against influxd 1.6.7. Otherwise (VictoriaMetrics speaks neither InfluxQL nor Flux) they
raise :class:`~campusguard.errors.StorageError` "queries are not supported by this backend
yet". Not supported: retention (buckets carry their own retention; set it on
the bucket: ``influx bucket update --retention 400d``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

import httpx
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS, WriteApi
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException
from influxdb_client.service.write_service import WriteService
from urllib3.exceptions import HTTPError as Urllib3Error

from campusguard.errors import DeliveryError, StorageError
from campusguard.selfmetrics import SelfMetrics
from collector.storage.base import Query, SeriesInfo, SeriesResult
from collector.storage.influx_common import SpooledInfluxStorage, delivery_error, maybe_gzip
from collector.storage.influx_lines import error_text
from collector.storage.influx_reads import InfluxQLReads
from collector.storage.influx_sender import SenderOptions

UNSUPPORTED: Final = "queries are not supported by this backend yet"


class InfluxV2Storage(SpooledInfluxStorage):
    """Storage through the InfluxDB v2 write API (see the module doc)."""

    name = "influxdb_v2"

    def __init__(
        self,
        url: str,
        token: str,
        org: str,
        bucket: str,
        state_dir: Path,
        *,
        gzip: bool = True,
        timeout: float = 10.0,
        influxql: bool = False,
        options: SenderOptions | None = None,
        metrics: SelfMetrics | None = None,
    ) -> None:
        super().__init__(state_dir, options, metrics)
        self.url = url.rstrip("/")
        self.org = org
        self.bucket = bucket
        self._token = token
        self._gzip = gzip
        self._timeout_ms = max(1, round(timeout * 1000))
        self._client: InfluxDBClient | None = None
        self._write_api: WriteApi | None = None
        self._service: WriteService | None = None
        self._timeout = timeout
        self._http: httpx.Client | None = None
        self.reads = InfluxQLReads(self.url, bucket, None, self._http_client) if influxql else None

    def open(self) -> None:
        if self._client is None:
            self._client = InfluxDBClient(
                url=self.url,
                token=self._token,
                org=self.org,
                timeout=self._timeout_ms,
                enable_gzip=False,  # we compress (level 1) and say so with content_encoding
            )
            self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
            if self._gzip:
                self._service = WriteService(self._client.api_client)  # type: ignore[no-untyped-call]
        super().open()

    def close(self) -> None:
        super().close()
        if self._write_api is not None:
            self._write_api.close()  # type: ignore[no-untyped-call]
        if self._client is not None:
            self._client.close()  # type: ignore[no-untyped-call]
        self._client = self._write_api = self._service = None
        if self._http is not None:
            self._http.close()
            self._http = None

    def _http_client(self) -> httpx.Client:
        if self._http is None:
            headers = {"Authorization": f"Token {self._token}"}
            self._http = httpx.Client(timeout=self._timeout, headers=headers)
        return self._http

    def _post(self, body: bytes) -> None:
        api = self._write_api
        if api is None:
            raise DeliveryError("the InfluxDB client is not open")
        try:
            if self._service is not None:  # gzip: level 1, see the module doc
                self._service.post_write(  # type: ignore[no-untyped-call]
                    org=self.org,
                    bucket=self.bucket,
                    body=maybe_gzip(body, True),
                    precision=WritePrecision.NS,
                    content_encoding="gzip",
                    content_type="text/plain; charset=utf-8",
                )
            else:
                api.write(bucket=self.bucket, org=self.org, record=body)  # precision: ns
        except ApiException as exc:
            status = int(exc.status or 0)
            headers: Mapping[str, str] = exc.headers or {}
            message = error_text(exc.body) or str(getattr(exc, "message", "")) or str(exc.reason)
            raise delivery_error(status, message, headers.get("Retry-After")) from exc
        except (Urllib3Error, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc

    # -- reads: InfluxQL through /query where the server has it, else refused ---------------

    def _reads(self) -> InfluxQLReads:
        if self.reads is None:
            raise StorageError(UNSUPPORTED + " (set influxql: true for a server with /query)")
        return self.reads

    def series(
        self,
        measurement: str | None = None,
        tags: Mapping[str, str] | None = None,
        limit: int = 1000,
    ) -> list[SeriesInfo]:
        return self._reads().series(measurement, tags, limit)

    def query(self, q: Query) -> list[SeriesResult]:
        return self._reads().query(q)

    def counts_by_measurement(self) -> dict[str, int]:
        return self._reads().counts_by_measurement()
