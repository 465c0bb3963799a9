"""Reading an RFC 3161 time-stamp offline: is it over these bytes, and when was it made.

This checks the stamp's message imprint against the data, not the TSA's signature chain;
for that, `openssl ts -verify -data FILE -in STAMP -CAfile TSA-CA` (docs/evidence.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime

import rfc3161_client

#: imprint algorithms the stamps are requested with, or may come back with
DIGESTS = {"2.16.840.1.101.3.4.2.1": hashlib.sha256, "2.16.840.1.101.3.4.2.3": hashlib.sha512}


def stamp_time(stamp: str, data: bytes) -> datetime:
    """When the TSA stamped `data`; ValueError when `stamp` is not a stamp over it."""
    try:
        raw = base64.b64decode(stamp, validate=True)
        response = rfc3161_client.decode_timestamp_response(raw)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"its time-stamp is unreadable ({exc})") from exc
    if base64.b64encode(raw).decode() != stamp:
        raise ValueError("its time-stamp is not in canonical base64")
    imprint = response.tst_info.message_imprint
    digest = DIGESTS.get(imprint.hash_algorithm.dotted_string)
    if digest is None:
        raise ValueError(f"its time-stamp uses hash {imprint.hash_algorithm.dotted_string}")
    if digest(data).digest() != imprint.message:
        raise ValueError("its time-stamp is over other data than its statement")
    return response.tst_info.gen_time
