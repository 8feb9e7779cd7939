"""The WebSocket wire (RFC 6455) for the simulator, by hand on a plain socket.

Owns the server side only: the opening handshake (`accept_key`), reading the client's
frames (always masked; text, ping, pong, close; fragments are refused) and writing
unmasked server frames. `websocket-client` is the runner's client; the simulator keeps
its own code, so a wrong belief held by one side is caught by the other. Frames larger
than `MAX_FRAME` (64 KiB) from a client close the connection: subscribe and heartbeat
messages are tiny.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass
from typing import Final

GUID: Final = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_FRAME: Final = 64 * 1024
OP_CONTINUATION: Final = 0x0
OP_TEXT: Final = 0x1
OP_BINARY: Final = 0x2
OP_CLOSE: Final = 0x8
OP_PING: Final = 0x9
OP_PONG: Final = 0xA


class FrameError(ValueError):
    """The client broke the protocol: the connection is closed."""


def accept_key(client_key: str) -> str:
    """Sec-WebSocket-Accept for the client's Sec-WebSocket-Key."""
    # SHA-1 is what RFC 6455 prescribes for this digest (not a security use).
    digest = hashlib.sha1((client_key.strip() + GUID).encode("ascii"),
                          usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


def handshake_response(client_key: str) -> bytes:
    return ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept_key(client_key)}\r\n\r\n"
            ).encode("ascii")


def encode(opcode: int, payload: bytes = b"") -> bytes:
    """One final, unmasked server frame."""
    head = bytes([0x80 | opcode])
    size = len(payload)
    if size < 126:
        return head + bytes([size]) + payload
    if size < 1 << 16:
        return head + bytes([126]) + struct.pack("!H", size) + payload
    return head + bytes([127]) + struct.pack("!Q", size) + payload


def text(message: str) -> bytes:
    return encode(OP_TEXT, message.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class ClientFrame:
    opcode: int
    payload: bytes


def take_frame(buffer: bytearray) -> ClientFrame | None:
    """Remove and return one complete frame from the front of `buffer`, or None."""
    if len(buffer) < 2:
        return None
    first, second = buffer[0], buffer[1]
    if not first & 0x80 or (first & 0x0F) == OP_CONTINUATION:
        raise FrameError("fragmented frames are not accepted")
    if not second & 0x80:
        raise FrameError("client frames must be masked")
    size, offset = second & 0x7F, 2
    if size == 126:
        if len(buffer) < 4:
            return None
        size, offset = struct.unpack("!H", bytes(buffer[2:4]))[0], 4
    elif size == 127:
        if len(buffer) < 10:
            return None
        size, offset = struct.unpack("!Q", bytes(buffer[2:10]))[0], 10
    if size > MAX_FRAME:
        raise FrameError(f"frame of {size} bytes is too large")
    end = offset + 4 + size
    if len(buffer) < end:
        return None
    mask = bytes(buffer[offset:offset + 4])
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(buffer[offset + 4:end]))
    del buffer[:end]
    return ClientFrame(first & 0x0F, payload)
