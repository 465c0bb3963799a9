"""RFC 3161 time-stamps on checkpoints, from a configured time-stamping authority (TSA).

The request (SHA-512 message imprint of the checkpoint statement, a nonce, the TSA's
certificate asked for) is built and the answer parsed by `rfc3161-client`; the request
travels over HTTP as `application/timestamp-query`. The whole TimeStampResp is kept, so
`openssl ts -verify -in stamp.tsr -data statement.json -CAfile tsa-ca.pem` checks it.
"""

from __future__ import annotations

import httpx
import rfc3161_client

from gateway.domain.errors import AuditError


class TimeStampError(AuditError):
    """The time-stamping authority could not be reached or refused the request."""

    code = "timestamp_error"


class TsaClient:
    """Asks one TSA for stamps."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    async def stamp(self, data: bytes) -> bytes:
        """The DER TimeStampResp of the TSA over `data`."""
        request = (
            rfc3161_client.TimestampRequestBuilder()
            .data(data)
            .hash_algorithm(rfc3161_client.HashAlgorithm.SHA512)
            .nonce(nonce=True)
            .cert_request(cert_request=True)
            .build()
        )
        headers = {"Content-Type": "application/timestamp-query"}
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                answer = await client.post(self.url, content=request.as_bytes(), headers=headers)
        except httpx.HTTPError as exc:
            raise TimeStampError(f"TSA {self.url}: {exc!r}") from exc
        if not answer.is_success:
            raise TimeStampError(f"TSA {self.url} answered {answer.status_code}")
        return _checked(answer.content, request)


def _checked(raw: bytes, request: rfc3161_client.TimeStampRequest) -> bytes:
    try:
        response = rfc3161_client.decode_timestamp_response(raw)
    except Exception as exc:  # the library raises ValueError and its own types
        raise TimeStampError(f"the TSA's answer is not a TimeStampResp: {exc}") from exc
    if response.status not in (0, 1):  # granted, grantedWithMods
        raise TimeStampError(f"the TSA refused: status {response.status}")
    if response.tst_info.nonce != request.nonce:
        raise TimeStampError("the TSA's answer carries another nonce")
    imprint = response.tst_info.message_imprint.message
    if imprint != request.message_imprint.message:
        raise TimeStampError("the TSA stamped another digest")
    return raw
