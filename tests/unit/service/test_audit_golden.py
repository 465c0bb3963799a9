"""A fixed chain's details and hashes, written down from the code before linking was made faster.

`Chain.link` now skips masking details that hold nothing to mask and keeps orjson's text
for floats json writes alike; neither may change one byte of what is stored and hashed.
The figures below were computed by the earlier code (json.dumps for every detail with a
float, every string masked one by one)."""

from __future__ import annotations

from gateway.domain.audit import AuditEvent, AuditKind
from gateway.service.audit import GENESIS, Chain

DIGEST = "94a0a423b6a23761379919cf5354da900775db5388a4d58c753fba9db22b6fd9"
EVENTS = [
    AuditEvent(
        AuditKind.delivered,
        order_id="wo_01a2503e95bad1f1",
        handoff_id="msg_01a2503e95bad1f11d285c868e29",
        party="tax-12366",
        payload_digest=DIGEST,
        signature="v1a,MEUCIQDk",
        detail={
            "attempt": 1,
            "endpoint": "http://127.0.0.1:47331/orders",
            "ms": 7.8,
            "response_digest": DIGEST,
            "status": 200,
            "agency_ref": "CASE-00000001",
        },
    ),
    AuditEvent(
        AuditKind.status_applied,
        order_id="wo_01a2503e95bad1f1",
        party="tax-12366",
        detail={
            "agency_ref": "CASE-00000001",
            "generation": 1,
            "from": "received",
            "to": "dispatched",
            "callback": {"handoff_id": "msg_1", "bytes": 481, "payload_digest": DIGEST},
        },
    ),
    AuditEvent(
        AuditKind.received,
        order_id="wo_2",
        party="hotline",
        detail={
            "note": "回电 13812345678，身份证 440106199001011234，座机 020-12345678",
            "coordinates": [113.2665, 23.1322, 1e-05, 1e16],
            "signed": {"msg_id": "13912345678", "ts": 1765000000},
            "quote": '"\\\\n13812345678"',
        },
    ),
]

EXPECTED = [
    (
        '{"agency_ref":"CASE-00000001","attempt":1,"endpoint":"http://127.0.0.1:47331/orders",'
        f'"ms":7.8,"response_digest":"{DIGEST}","status":200}}',
        "76d03a85c821a57a163b2227c5939163a38b09ad144eb6c60f207c044db96315",
    ),
    (
        '{"agency_ref":"CASE-00000001","callback":{"bytes":481,"handoff_id":"msg_1",'
        f'"payload_digest":"{DIGEST}"}},"from":"received","generation":1,"to":"dispatched"}}',
        "39b54e8a291cb09bbb8b4a0766a41594454c1b2eeaa3e56f3ef93c8c816993b7",
    ),
    (
        '{"coordinates":[113.2665,23.1322,1e-05,1e+16],'
        '"note":"回电 138****5678，身份证 440***********1234，座机 020*****5678",'
        '"quote":"\\"\\\\\\\\n13812345678\\"",'
        '"signed":{"msg_id":"13912345678","ts":1765000000}}',
        "8d99bfaa01d1751165e2d2cb97670608889e2695eb9cc9976c53de6a9065d067",
    ),
]


def test_linked_entries_are_byte_for_byte_those_of_the_earlier_code() -> None:
    chain = Chain(clock=lambda: 1_765_000_000.123456)
    prev, seq, linked = GENESIS, 0, []
    for event in EVENTS:
        record = chain.link(seq + 1, prev, event)
        seq, prev = record.seq, record.entry_hash
        linked.append((record.detail, record.entry_hash))
    assert linked == EXPECTED
