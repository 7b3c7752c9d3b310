"""Pure framing of a syslog TCP stream (RFC 6587): octet counting or newline-terminated.

The framing is detected from the first byte of each frame: a digit starts ``LEN SP MSG``
(octet counting, RFC 5425/6587 3.4.1), anything else is a message ending in LF (or NUL, as some
senders use; RFC 6587 3.4.2); digits not followed by a space are a newline frame too. A
frame larger than ``max_bytes`` is skipped (counted as ``too_large``) without buffering it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FrameResult", "StreamFramer"]

_MAX_LEN_DIGITS = 10


@dataclass(slots=True)
class FrameResult:
    frames: list[bytes] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class StreamFramer:
    """Feed it the bytes of one connection; it returns whole frames and counted problems."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._buf = bytearray()
        self._skip = 0  # bytes of an oversized octet-counted frame still to discard
        self._discarding = False  # inside an oversized newline frame
        self.octet_counted_frames = 0
        self.newline_frames = 0

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> FrameResult:
        result = FrameResult()
        self._buf += data
        while self._buf:
            if self._skip:
                n = min(self._skip, len(self._buf))
                del self._buf[:n]
                self._skip -= n
                continue
            if self._discarding:
                end = _terminator(self._buf)
                if end < 0:
                    self._buf.clear()
                    break
                del self._buf[: end + 1]
                self._discarding = False
                continue
            first = self._buf[0]
            if first in b"\r\n\x00 ":
                del self._buf[:1]  # stray separators between frames
                continue
            octet = self._octet_frame(result) if 0x30 <= first <= 0x39 else None
            if octet is None:
                octet = self._newline_frame(result)
            if not octet:
                break
        return result

    def _octet_frame(self, result: FrameResult) -> bool | None:
        """True: took a frame; False: wait for more; None: not octet counted after all."""
        space = self._buf.find(b" ", 0, _MAX_LEN_DIGITS + 1)
        if space < 0:
            if len(self._buf) > _MAX_LEN_DIGITS or not self._buf.isdigit():
                return None
            return False  # the count is still arriving
        digits = bytes(self._buf[:space])
        if not digits.isdigit() or int(digits) == 0:
            return None
        length = int(digits)
        if length > self.max_bytes:
            result.errors.append("too_large")
            del self._buf[: space + 1]
            self._skip = length
            return True
        if len(self._buf) < space + 1 + length:
            return False
        result.frames.append(bytes(self._buf[space + 1 : space + 1 + length]))
        self.octet_counted_frames += 1
        del self._buf[: space + 1 + length]
        return True

    def _newline_frame(self, result: FrameResult) -> bool:
        end = _terminator(self._buf, self.max_bytes + 1)
        if end < 0:
            if len(self._buf) <= self.max_bytes:
                return False
            result.errors.append("too_large")
            end = _terminator(self._buf)
            if end < 0:
                self._buf.clear()
                self._discarding = True
                return False
            del self._buf[: end + 1]
            return True
        result.frames.append(bytes(self._buf[:end]))
        self.newline_frames += 1
        del self._buf[: end + 1]
        return True

    def finish(self) -> FrameResult:
        """The connection closed: a last unterminated newline frame still counts."""
        result = FrameResult()
        if self._buf and not self._skip and not self._discarding:
            if self._octet_frame(result) is False:
                result.errors.append("truncated")
            elif self._buf:
                result.frames.append(bytes(self._buf))
                self.newline_frames += 1
        self._buf.clear()
        return result


def _terminator(buf: bytearray, limit: int | None = None) -> int:
    end = len(buf) if limit is None else min(limit, len(buf))
    lf = buf.find(b"\n", 0, end)
    nul = buf.find(b"\x00", 0, end if lf < 0 else lf)
    return nul if nul >= 0 else lf
