"""The client wire protocol, sans-IO: handshake, framing, query decoding and
response encoding.  Nothing here touches sockets; a transport feeds received
bytes in and writes the bytes it gets back.

* ``handshake.ServerHandshake``: magic number and authentication (V1_0 SCRAM,
  V0_4/V0_3 auth key).
* ``framing.FrameDecoder`` / ``framing.encode_frame``: token + length frames.
* ``query.parse_query``: a frame's JSON into ``ParsedQuery``.
* ``response``: response bodies (``atom``, ``sequence``, ``client_error``...).
* ``scram``: stored credentials and the SCRAM-SHA-256 exchange.
"""

from .framing import Frame, FrameDecoder, FrameError, encode_frame
from .handshake import Authenticated, Failed, HandshakeEvent, Send, ServerHandshake
from .query import ParsedQuery, QueryParseError, parse_query
from .scram import Credential, make_credential

__all__ = [
    "Authenticated",
    "Credential",
    "Failed",
    "Frame",
    "FrameDecoder",
    "FrameError",
    "HandshakeEvent",
    "ParsedQuery",
    "QueryParseError",
    "Send",
    "ServerHandshake",
    "encode_frame",
    "make_credential",
    "parse_query",
]
