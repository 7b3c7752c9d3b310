"""Templates compiled once into numpy structured dtypes (big-endian), so that a data set is
decoded with one ``np.frombuffer`` per set rather than per field.

Only the fields CampusGuard uses ("roles": addresses, ports, counters, times, sampling) get a
name in the dtype; the rest are skipped by offset. Templates with variable-length fields are
first copied, record by record, into a synthetic fixed layout of the role fields, then take the
same vectorised path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from agent.inputs.flow.templates import Template

VARIABLE = 65535

# role -> information element ids (enterprise 0), best first
ROLES: dict[str, tuple[int, ...]] = {
    "src4": (8,),
    "dst4": (12,),
    "src6": (27,),
    "dst6": (28,),
    "src_port": (7, 180, 182),
    "dst_port": (11, 181, 183),
    "proto": (4,),
    "bytes": (1, 85, 231, 23, 352),
    "packets": (2, 86, 298, 24),
    "tcp_flags": (6,),
    "in_if": (10, 252),
    "out_if": (14, 253),
    "start_ntp_ns": (156,),
    "end_ntp_ns": (157,),
    "start_ntp_us": (154,),
    "end_ntp_us": (155,),
    "start_ms": (152,),
    "end_ms": (153,),
    "start_s": (150,),
    "end_s": (151,),
    "start_up": (22,),
    "end_up": (21,),
    "start_delta_us": (158,),
    "end_delta_us": (159,),
    "duration_ms": (161,),
    "init_ms": (160,),
    "rate": (34, 50),
    "packet_interval": (305,),
    "packet_space": (306,),
    "sampling_size": (309,),
    "sampling_population": (310,),
    "sampler": (48, 302),
}
ADDRESS_LENGTH = {"src4": 4, "dst4": 4, "src6": 16, "dst6": 16}


@dataclass(frozen=True)
class CompiledTemplate:
    template: Template
    dtype: np.dtype[np.void]  # over the real record (fixed) or the synthetic one (variable)
    record_length: int  # fixed: bytes per record; variable: minimum bytes per record
    fixed: bool
    roles: tuple[str, ...]
    role_fields: tuple[tuple[int, int], ...]  # per role: (field index, length)
    lengths: tuple[int, ...]
    role_set: frozenset[str]

    @property
    def is_flow(self) -> bool:
        return not self.template.options and any(r in ADDRESS_LENGTH for r in self.roles)


def _format(role: str, length: int) -> str | tuple[str, tuple[int]] | None:
    if role in ADDRESS_LENGTH:
        if length != ADDRESS_LENGTH[role]:
            return None
        return ">u4" if length == 4 else ("u1", (16,))
    if length in (1, 2, 4, 8):
        return f">u{length}"
    if 0 < length < 8:
        return ("u1", (length,))
    return None


def compile_template(template: Template) -> CompiledTemplate:
    lengths = tuple(f.length for f in template.fields)
    fixed = VARIABLE not in lengths
    offsets: list[int] = []
    pos = 0
    for length in lengths:
        offsets.append(pos)
        pos += 1 if length == VARIABLE else length
    by_id: dict[int, int] = {}
    for index, spec in enumerate(template.fields):
        if spec.enterprise == 0 and spec.length != VARIABLE:
            by_id.setdefault(spec.field_id, index)
    names: list[str] = []
    formats: list[object] = []
    dt_offsets: list[int] = []
    role_fields: list[tuple[int, int]] = []
    synthetic = 0
    for role, ids in ROLES.items():
        for ident in ids:
            found = by_id.get(ident)
            if found is None:
                continue
            index = found
            fmt = _format(role, lengths[index])
            if fmt is None:
                continue
            names.append(role)
            formats.append(fmt)
            dt_offsets.append(offsets[index] if fixed else synthetic)
            role_fields.append((index, lengths[index]))
            synthetic += lengths[index]
            break
    if not fixed:  # the synthetic record holds the role fields in template order
        order = sorted(range(len(names)), key=lambda i: role_fields[i][0])
        running = 0
        for i in order:
            dt_offsets[i] = running
            running += role_fields[i][1]
    itemsize = pos if fixed else synthetic
    dtype: np.dtype[np.void] = np.dtype(
        {"names": names, "formats": formats, "offsets": dt_offsets, "itemsize": max(itemsize, 1)}
    )
    return CompiledTemplate(
        template, dtype, pos, fixed, tuple(names), tuple(role_fields), lengths, frozenset(names)
    )


def parse_records(
    ct: CompiledTemplate, data: bytes, start: int, end: int
) -> tuple[npt.NDArray[np.void], str | None]:
    """The records of one data set as a structured array; trailing padding is ignored.
    Returns an error reason when the set is malformed (the records before it are kept)."""
    if ct.record_length == 0:
        return np.zeros(0, dtype=ct.dtype), "zero_length_record"
    if ct.fixed:
        count = (end - start) // ct.record_length
        # what is left is padding (shorter than a record; vendors do not always zero it)
        return np.frombuffer(data, ct.dtype, count=count, offset=start), None
    return _parse_variable(ct, data, start, end)


def _parse_variable(
    ct: CompiledTemplate, data: bytes, start: int, end: int
) -> tuple[npt.NDArray[np.void], str | None]:
    wanted = dict(ct.role_fields)
    out = bytearray()
    count = 0
    pos = start
    while end - pos >= ct.record_length:
        record_start = pos
        record = bytearray()
        for index, declared in enumerate(ct.lengths):
            length = declared
            if declared == VARIABLE:
                if pos >= end:
                    break
                length = data[pos]
                pos += 1
                if length == 255:
                    if pos + 2 > end:
                        break
                    length = (data[pos] << 8) | data[pos + 1]
                    pos += 2
            if pos + length > end:
                break
            if index in wanted:
                record += data[pos : pos + length]
            pos += length
        else:
            out += record.ljust(ct.dtype.itemsize, b"\0")  # a template without roles: 1 byte
            count += 1
            continue
        # a record that overruns its set: corrupt, unless it is all zero padding
        error = "truncated_record" if any(data[record_start:end]) else None
        return np.frombuffer(bytes(out), ct.dtype, count=count), error
    return np.frombuffer(bytes(out), ct.dtype, count=count), None
