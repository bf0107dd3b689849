"""Host side of the host-instance frame format: 4-byte big-endian header length, 4-byte
big-endian payload length, a JSON header, then the payload bytes."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import orjson

HEAD = struct.Struct(">II")


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
            total = 8 + head_size + payload_size
            if len(self._buffer) < total:
                return
            header = orjson.loads(self._buffer[8 : 8 + head_size])
            payload = bytes(self._buffer[8 + head_size : total])
            del self._buffer[:total]
            yield header, payload
