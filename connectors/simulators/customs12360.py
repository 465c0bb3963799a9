"""A simulated 12360 customs sub-centre: a real SOAP server, and a SOAP client of Lianxin.

Every request is parsed safely, validated against mappings/wsdl/customs12360.wsdl and
its signature checked; a repeated webhook-id is answered without processing again.
SubmitCase gets a case number (AJBH); shortly after, the simulator calls Lianxin's
hosted ReplyCase with 受理 and then 办结 with the reply text. Notify is recorded.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.simulators.soap_peer import read_call, refusal, result
from connectors.soap import xml as soap_xml
from connectors.soap.connector import SignedSoapClient
from gateway.crypto.signing import (
    MessageSigner,
    MessageVerifier,
    parse_signing_key,
    parse_verifying_key,
)
from gateway.domain.errors import LianxinError
from gateway.settings import REPO_ROOT

WSDL = REPO_ROOT / "mappings" / "wsdl" / "customs12360.wsdl"
HOTLINE_WSDL = REPO_ROOT / "mappings" / "wsdl" / "hotline-customs12360.wsdl"
NS = "urn:lianxin:customs12360:1"
XML = "text/xml; charset=utf-8"
REPLY = "经核实，个人携带自用物品入境超出免税限额部分需依法申报纳税，具体可咨询现场海关。"


@dataclass
class CustomsSimulator:
    """State and behaviour of the simulated customs system; `app` is its ASGI application."""

    gateway_url: str
    gateway_keys: list[str]
    signing_key: str
    delay: float = 0.05
    received: Counter[str] = field(default_factory=Counter)
    cases: dict[str, dict[str, str]] = field(default_factory=dict)
    notices: list[dict[str, str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    answers_failed: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._schema = soap_xml.schema_of(WSDL)
        self._verifier = MessageVerifier([parse_verifying_key(k) for k in self.gateway_keys])
        self._signer = MessageSigner([parse_signing_key(self.signing_key)])
        self._sent = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.app = Starlette(routes=[Route("/cases", self._endpoint, methods=["GET", "POST"])])

    async def _endpoint(self, request: Request) -> Response:
        if request.method == "GET":
            return Response(WSDL.read_text(encoding="utf-8"), media_type=XML)
        try:
            call = read_call(await request.body(), self._schema, self._verifier)
        except LianxinError as exc:
            self.refused.append(exc.message)
            return refusal(exc.message)
        operation, fields = call.operation, call.fields
        with self._lock:
            first = call.msg_id not in self.received
            self.received[call.msg_id] += 1
        if not first:
            return self._result(operation, 1, "重复报文", None)
        if operation == "Notify":
            self.notices.append(fields)
            return self._result(operation, 0, "已知悉", None)
        with self._lock:
            case_no = f"HG{len(self.cases) + 1:08d}"
            self.cases[case_no] = fields
        task = asyncio.get_running_loop().create_task(self._work(case_no, fields["GDBH"]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return self._result(operation, 0, "已受理", case_no)

    def _result(self, operation: str, code: int, message: str, case_no: str | None) -> Response:
        return result(NS, operation, {"Code": code, "Message": message, "AJBH": case_no})

    async def _work(self, case_no: str, flow_id: str) -> None:
        for state, text in (("受理", None), ("办结", REPLY)):
            await asyncio.sleep(self.delay)
            await self.reply(flow_id, case_no, state, text)

    async def reply(self, flow_id: str, case_no: str, state: str, text: str | None) -> Any:
        """Call Lianxin's ReplyCase, signed with this simulator's key."""
        client = SignedSoapClient(str(HOTLINE_WSDL), f"{self.gateway_url}/soap/customs-12360", 10)
        with self._lock:
            self._sent += 1
            msg_id = f"hg-{self._sent:08d}"
        arguments = {
            "GDBH": flow_id,
            "AJBH": case_no,
            "ZT": state,
            "NR": text,
            "CLBM": "广州海关12360分中心",
            "SJ": datetime.now(UTC).isoformat(),
        }
        try:
            result, _ = await client.call("ReplyCase", msg_id, self._signer.headers, arguments)
            return result
        except Exception as exc:  # a simulator records what failed; tests read it
            self.answers_failed.append(f"ReplyCase {state}: {exc}")
            return None
        finally:
            await client.aclose()
