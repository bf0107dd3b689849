"""Host side of the host-instance frame format: 4-byte big-endian header length, 4-byte
big-endian payload length, a JSON header, then the payload bytes."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import orjson

HEAD = struct.Struct(">II")

# Largest frame an instance may send. The header is small JSON; the payload is a result,
# an error or one log record. A larger frame means the instance writes garbage to the
# channel, and the host stops reading before it buffers it.
MAX_HEADER_BYTES = 64 * 1024
MAX_PAYLOAD_BYTES = 32 * 1024 * 1024


class ProtocolError(ValueError):
    """The instance sent bytes that are not a valid frame."""


def encode(header: dict[str, Any], payload: bytes = b"") -> bytes:
    head = orjson.dumps(header)
    return HEAD.pack(len(head), len(payload)) + head + payload


class FrameDecoder:
    """Accumulates bytes from the instance and yields complete frames."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[tuple[dict[str, Any], bytes]]:
        self._buffer += data
        while len(self._buffer) >= 8:
            head_size, payload_size = HEAD.unpack_from(self._buffer)
            if head_size > MAX_HEADER_BYTES or payload_size > MAX_PAYLOAD_BYTES:
                raise ProtocolError(
                    f"frame of {head_size} + {payload_size} bytes is over the limit of "
                    f"{MAX_HEADER_BYTES} + {MAX_PAYLOAD_BYTES}"
                )
            total = 8 + head_size + payload_size
            if len(self._buffer) < total:
                return
            try:
                header = orjson.loads(self._buffer[8 : 8 + head_size])
            except orjson.JSONDecodeError as error:
                raise ProtocolError(f"frame header is not JSON: {error}") from error
            if not isinstance(header, dict):
                raise ProtocolError("frame header is not a JSON object")
            payload = bytes(self._buffer[8 + head_size : total])
            del self._buffer[:total]
            yield header, payload
