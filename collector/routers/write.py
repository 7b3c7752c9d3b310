"""The InfluxDB-compatible write endpoints: ``POST /api/v2/write`` and the v1 alias ``/write``.

Telegraf's ``influxdb_v2`` output, ``influxdb_client`` and our agent post line protocol here.
A request is all or nothing: a bad line answers 400 naming its line and nothing of the body is
stored. The body is limited to ``max_body_bytes`` before and after gunzip (decompressed piece
by piece, so a gzip bomb stops at the limit). ``X-CampusGuard-Batch: agent/epoch/seq`` makes a
retried batch harmless: a duplicate answers 204 with ``X-CampusGuard-Duplicate: 1``.

Parsing and storing run in one worker-thread hop. A store whose class has ``write_points``
(:class:`PointStorage`, e.g. SQLite) gets the parsed points as they are, with no
:class:`~campusguard.metric.Metric` built for them; any other store (a wrapper that forwards
attributes by ``__getattr__`` included, so it is never bypassed) gets metrics through ``write``.
A store whose class has ``write_encoded`` (:class:`EncodedStorage`: the InfluxDB backends) gets
the validated body itself when it can be passed on unchanged: nanosecond precision, every line
timestamped (a retried batch must not get a new time), no unsigned fields (InfluxDB 1.x refuses
them) and no carriage returns; otherwise it gets metrics like any other store.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Final, Protocol, runtime_checkable

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from campusguard.errors import LineProtocolError, StorageError
from campusguard.lineprotocol import PRECISIONS, ParsedBody, parse, parse_points
from campusguard.lineprotocol_parse import KIND_UINT
from campusguard.selfmetrics import StageCounters
from collector.deps import (
    ApiError,
    IngestCountersDep,
    SettingsDep,
    StorageCountersDep,
    StorageDep,
    authorize,
)
from collector.settings import CollectorSettings
from collector.storage.base import BatchId, Storage

router = APIRouter(tags=["write"])


@runtime_checkable
class PointStorage(Protocol):
    """A store that takes parsed line protocol as :func:`parse_points` gives it."""

    def write_points(self, parsed: ParsedBody, batch: BatchId | None = None) -> bool:
        """:meth:`Storage.write` for points."""
        ...


@runtime_checkable
class EncodedStorage(Protocol):
    """A store that takes a validated body of line protocol as it is."""

    def write_encoded(self, body: bytes, batch: BatchId | None = None) -> bool:
        """:meth:`Storage.write` for a body that needs no re-encoding."""
        ...


def _passes_unchanged(parsed: ParsedBody, body: bytes) -> bool:
    if b"\r" in body:
        return False
    for _key, time_ns, fields in parsed.points:
        if time_ns is None or KIND_UINT in fields[2::3]:
            return False
    return True


class _StoreFailed(Exception):
    """The store refused ``n`` parsed points with ``error``."""

    def __init__(self, n: int, error: StorageError) -> None:
        super().__init__(str(error))
        self.n = n
        self.error = error


BATCH_HEADER: Final = "x-campusguard-batch"
DUPLICATE_HEADER: Final = "X-CampusGuard-Duplicate"
V2_PRECISIONS: Final = ("ns", "us", "ms", "s")
_GZIP_WBITS: Final = 16 + zlib.MAX_WBITS

_BODY_ERROR_REASONS: Final = {413: "too_large", 415: "unsupported_encoding"}
NO_CONTENT: Final[dict[int | str, dict[str, Any]]] = {
    204: {"description": "Stored (or a duplicate batch, ignored)."}
}


@router.post("/api/v2/write", status_code=204, response_class=Response, responses=NO_CONTENT)
async def write_v2(
    *,
    request: Request,
    settings: SettingsDep,
    storage: StorageDep,
    ingest: IngestCountersDep,
    stored: StorageCountersDep,
    org: Annotated[str | None, Query(description="Accepted; informational.")] = None,
    bucket: Annotated[str | None, Query(description="Accepted; informational.")] = None,
    precision: Annotated[str, Query(description="ns, us, ms or s")] = "ns",
) -> Response:
    """Store a body of line protocol (InfluxDB v2 write API)."""
    return await _ingest(request, settings, storage, (ingest, stored), precision, V2_PRECISIONS)


@router.post("/write", status_code=204, response_class=Response, responses=NO_CONTENT)
async def write_v1(
    *,
    request: Request,
    settings: SettingsDep,
    storage: StorageDep,
    ingest: IngestCountersDep,
    stored: StorageCountersDep,
    db: Annotated[str | None, Query(description="Accepted; informational.")] = None,
    rp: Annotated[str | None, Query(description="Accepted; informational.")] = None,
    precision: Annotated[str, Query(description="n, ns, u, us, ms, s, m or h")] = "ns",
    u: Annotated[str | None, Query(description="User name; ignored.")] = None,
    p: Annotated[str | None, Query(description="Password: an API token.")] = None,
) -> Response:
    """Store a body of line protocol (InfluxDB v1 write API; the token in ``p`` or a header)."""
    return await _ingest(request, settings, storage, (ingest, stored), precision, tuple(PRECISIONS))


async def _ingest(
    request: Request,
    settings: CollectorSettings,
    storage: Storage,
    counters: tuple[StageCounters, StageCounters],
    precision: str,
    precisions: tuple[str, ...],
) -> Response:
    ingest, stored = counters
    try:
        authorize(request, settings)
    except ApiError:
        ingest.error("unauthorized")
        raise
    try:
        if precision not in precisions:
            known = ", ".join(precisions)
            raise ApiError(400, "invalid", f"invalid precision {precision!r}; one of {known}")
        batch = _batch_id(request)
    except ApiError:
        ingest.error("bad_request")
        raise
    started = time.perf_counter()
    try:
        body = await read_body(request, settings.max_body_bytes)
    except ApiError as exc:
        ingest.error(_BODY_ERROR_REASONS.get(exc.status, "bad_gzip"))
        raise
    received_ns = time.time_ns()
    ingest.received(0, nbytes=len(body))
    try:
        n, fresh, write_seconds = await run_in_threadpool(
            _parse_and_store, storage, body, precision, received_ns, batch
        )
    except LineProtocolError as exc:
        ingest.error("bad_line_protocol")
        raise ApiError(400, "invalid", str(exc), extra={"line": exc.line}) from None
    except _StoreFailed as failed:
        ingest.received(failed.n)
        stored.received(failed.n)
        stored.error("storage")
        ingest.dropped("storage", failed.n)
        raise ApiError(
            503, "unavailable", f"storage failed: {failed.error}", headers={"Retry-After": "5"}
        ) from None
    ingest.received(n)
    if n == 0:
        return Response(status_code=204)
    stored.received(n)
    stored.observe_duration(write_seconds)
    ingest.observe_duration(time.perf_counter() - started)
    if not fresh:
        ingest.dropped("duplicate_batch", n)
        stored.dropped("duplicate_batch", n)
        return Response(status_code=204, headers={DUPLICATE_HEADER: "1"})
    ingest.sent(n)
    stored.sent(n)
    return Response(status_code=204)


def _parse_and_store(
    storage: Storage, body: bytes, precision: str, received_ns: int, batch: BatchId | None
) -> tuple[int, bool, float]:
    """Parse and store a body (in a worker thread): (points, stored and not a duplicate, s).

    Raises LineProtocolError for a bad body and :class:`_StoreFailed` when the store fails.
    """
    if (
        isinstance(storage, EncodedStorage)
        and hasattr(type(storage), "write_encoded")
        and PRECISIONS.get(precision) == 1
    ):
        encoded_storage = storage
        parsed = parse_points(body, precision, None)  # validates; None marks a missing time
        if _passes_unchanged(parsed, body):
            return _store(len(parsed.points), lambda: encoded_storage.write_encoded(body, batch))
    if isinstance(storage, PointStorage) and hasattr(type(storage), "write_points"):
        point_storage = storage
        parsed = parse_points(body, precision, received_ns)
        return _store(len(parsed.points), lambda: point_storage.write_points(parsed, batch))
    metrics = parse(body, precision, received_ns)
    return _store(len(metrics), lambda: storage.write(metrics, batch))


def _store(n: int, write: Callable[[], bool]) -> tuple[int, bool, float]:
    if n == 0:
        return 0, True, 0.0
    started = time.perf_counter()
    try:
        fresh = write()
    except StorageError as exc:
        raise _StoreFailed(n, exc) from exc
    return n, fresh, time.perf_counter() - started


def _batch_id(request: Request) -> BatchId | None:
    header = request.headers.get(BATCH_HEADER)
    if header is None:
        return None
    try:
        return BatchId.parse(header)
    except ValueError as exc:
        raise ApiError(400, "invalid", f"X-CampusGuard-Batch: {exc}") from None


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, gunzipped if ``Content-Encoding: gzip``, at most ``limit`` bytes.

    Raises :class:`ApiError` 413 past the limit (checked on Content-Length first, then while
    reading and decompressing), 400 for broken gzip and 415 for another content encoding.
    """
    too_large = ApiError(
        413,
        "request too large",
        f"request body is larger than {limit} bytes (max_body_bytes)",
        extra={"maxLength": limit},
    )
    length = request.headers.get("content-length")
    if length is not None and length.strip().isdigit() and int(length) > limit:
        raise too_large
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return await _read_plain(request.stream(), limit, too_large)
    if encoding == "gzip":
        return await _read_gzip(request.stream(), limit, too_large)
    raise ApiError(415, "unsupported media type", f"unsupported Content-Encoding {encoding!r}")


async def _read_plain(stream: AsyncIterator[bytes], limit: int, too_large: ApiError) -> bytes:
    body = bytearray()
    async for chunk in stream:
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


async def _read_gzip(stream: AsyncIterator[bytes], limit: int, too_large: ApiError) -> bytes:
    out = bytearray()
    raw_size = 0
    member = zlib.decompressobj(wbits=_GZIP_WBITS)
    try:
        async for chunk in stream:
            raw_size += len(chunk)
            if raw_size > limit:
                raise too_large
            data = chunk
            while data:
                # Never produce more than one byte past the limit, whatever the ratio.
                out += member.decompress(data, limit - len(out) + 1)
                if len(out) > limit:
                    raise too_large
                data = member.unconsumed_tail
                if member.eof and member.unused_data:  # concatenated gzip members
                    data = member.unused_data + data
                    member = zlib.decompressobj(wbits=_GZIP_WBITS)
        out += member.flush()
    except zlib.error as exc:
        raise ApiError(400, "invalid", f"invalid gzip body: {exc}") from None
    if len(out) > limit:
        raise too_large
    if raw_size and not member.eof:
        raise ApiError(400, "invalid", "invalid gzip body: truncated stream")
    if not raw_size:
        raise ApiError(400, "invalid", "invalid gzip body: empty")
    return bytes(out)
