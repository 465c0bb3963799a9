"""A simulated 110 接处警 system: a real SOAP server, and a SOAP client of Lianxin.

Server (its own WSDL, mappings/wsdl/police110.wsdl): every request is parsed safely,
its payload validated against the WSDL's schema and its signature checked with the
gateway's key; repeated webhook-ids are answered without processing again.
TransferCase gets a 接警单编号 (JJDBH); shortly after, the simulator calls Lianxin's
hosted service to 签收 (Confirm) and then either 反馈 (Feedback) or, for matters it
does not take, 退回 (Return) with a reason. ConfirmCase and Callback (DYYY 1/2/3) from
the hotline are recorded, as is the signature each call carried. `push_case` sends a
双非 case to Lianxin (TransferIn).
"""

from __future__ import annotations

import asyncio
import threading
import time
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

WSDL = REPO_ROOT / "mappings" / "wsdl" / "police110.wsdl"
HOTLINE_WSDL = REPO_ROOT / "mappings" / "wsdl" / "hotline-police110.wsdl"
NS = "urn:lianxin:police110:jcj:1"
XML = "text/xml; charset=utf-8"


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Police110Simulator:
    """State and behaviour of the simulated 110 system; `app` is its ASGI application."""

    gateway_url: str
    gateway_keys: list[str]
    signing_key: str
    delay: float = 0.05
    return_keywords: tuple[str, ...] = ("家庭纠纷", "不属于公安")
    received: Counter[str] = field(default_factory=Counter)
    cases: dict[str, dict[str, str]] = field(default_factory=dict)
    callbacks: list[dict[str, str]] = field(default_factory=list)
    withdrawals: list[dict[str, str]] = field(default_factory=list)  # 改派: cases taken back
    confirmations: list[dict[str, str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    traceparents: list[str | None] = field(default_factory=list)  # each call's, in order
    signatures: dict[str, str] = field(default_factory=dict)  # webhook-id → the last signature
    down_until: float = 0.0
    outage_refusals: int = 0
    log: list[tuple[str, str, str]] = field(default_factory=list)
    answers_failed: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._schema = soap_xml.schema_of(WSDL)
        self._verifier = MessageVerifier([parse_verifying_key(k) for k in self.gateway_keys])
        self._signer = MessageSigner([parse_signing_key(self.signing_key)])
        self._sent = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.app = Starlette(routes=[Route("/jcj", self._endpoint, methods=["GET", "POST"])])

    async def _endpoint(self, request: Request) -> Response:
        if request.method == "GET":
            return Response(WSDL.read_text(encoding="utf-8"), media_type=XML)
        self.traceparents.append(request.headers.get("traceparent"))
        if time.monotonic() < self.down_until:
            self.outage_refusals += 1
            return Response(soap_xml.fault("Server", "系统维护中"), 503, media_type=XML)
        try:
            call = read_call(await request.body(), self._schema, self._verifier)
        except LianxinError as exc:
            self.refused.append(exc.message)
            return refusal(exc.message)
        operation, fields, msg_id = call.operation, call.fields, call.msg_id
        with self._lock:
            self.signatures[msg_id] = call.signature
            first = msg_id not in self.received
            self.received[msg_id] += 1
        if not first:
            return self._result(operation, 1, "重复报文，已处理", self._case_of(fields))
        return self._handle(operation, fields)

    def go_down(self, seconds: float) -> None:
        """Answer every call with 503 for the next `seconds`."""
        self.down_until = time.monotonic() + seconds

    def _handle(self, operation: str, fields: dict[str, str]) -> Response:
        self.log.append(
            (operation, fields.get("JJDBH") or fields.get("FLOWID", ""), fields.get("DYYY", ""))
        )
        if operation == "TransferCase":
            with self._lock:
                jjdbh = f"J{datetime.now(UTC):%Y%m%d}{len(self.cases) + 1:06d}"
                self.cases[jjdbh] = fields
            self._spawn(self._work_case(jjdbh, fields))
            return self._result(operation, 0, "接收成功", jjdbh)
        if operation == "ConfirmCase":
            self.confirmations.append(fields)
        elif operation == "WithdrawCase":
            self.withdrawals.append(fields)
        else:
            self.callbacks.append(fields)
        return self._result(operation, 0, "已接收", fields.get("JJDBH"))

    def _case_of(self, fields: dict[str, str]) -> str | None:
        flow = fields.get("FLOWID")
        return next((k for k, v in self.cases.items() if v.get("FLOWID") == flow), None)

    def _result(self, operation: str, code: int, message: str, jjdbh: str | None) -> Response:
        return result(NS, operation, {"Code": code, "Message": message, "JJDBH": jjdbh})

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _work_case(self, jjdbh: str, case: dict[str, str]) -> None:
        await asyncio.sleep(self.delay)
        flow = {"FLOWID": case["FLOWID"], "JJDBH": jjdbh}
        confirm = {"QSDW": "市公安局110指挥中心", "QSR": "张警官", "QSSJ": _now()}
        await self.call("Confirm", {**flow, **confirm})
        await asyncio.sleep(self.delay)
        if any(word in case.get("BJNR", "") for word in self.return_keywords):
            opinion = "经核实不属于公安机关管辖的警情，建议由12345转相关职能部门处理"
            await self.call(
                "Return",
                {
                    **flow,
                    "HANDLEDEPT": "天河分局指挥室",
                    "HANDLEPERSON": "刘警官",
                    "HANDLEOPINION": opinion,
                    "HANDLETIME": _now(),
                },
            )
            return
        await self.call(
            "Feedback",
            {
                **flow,
                "CJCZQK": "民警已到场处置，对当事人进行了批评教育",
                "JQCLJGSM": "现场秩序已恢复，已告知报警人处理结果",
                "FKDW": "天河分局石牌派出所",
                "FKR": "陈警官",
                "FKSJ": _now(),
            },
        )

    async def call(self, operation: str, arguments: dict[str, Any]) -> Any:
        """Call Lianxin's hosted 110 service, signed with this simulator's key."""
        client = SignedSoapClient(str(HOTLINE_WSDL), f"{self.gateway_url}/soap/police-110", 10)
        with self._lock:
            self._sent += 1
            msg_id = f"jcj-{self._sent:08d}"
        try:
            result, _digest = await client.call(operation, msg_id, self._signer.headers, arguments)
            return result
        except Exception as exc:  # a simulator records what failed; tests read it
            self.answers_failed.append(f"{operation}: {exc}")
            return None
        finally:
            await client.aclose()

    async def push_case(
        self, jjdbh: str, content: str, code: str = "9102", name: str = "施工噪声"
    ) -> Any:
        """Send a 双非 case to Lianxin (TransferIn) as 110 would."""
        return await self.call(
            "TransferIn",
            {
                "JJDBH": jjdbh,
                "BJDH": "13811112222",
                "BJDZ": "广州市天河区体育西路某工地",
                "BJNR": content,
                "BJSJ": _now(),
                "JQLBDM": code,
                "JQLBMC": name,
                "GXDWDM": "440106000000",
                "GXDWMC": "天河分局",
                "SFBM": "0",
                "XZQHDM": "440106",
            },
        )
