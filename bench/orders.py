"""The work orders the benchmarks send: a tax consult (normal lane) and a fire emergency."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bench.loadgen import post
from gateway.world.orders import sample_order

INTAKE = "/v1/work-orders"


def consult(flow_id: str) -> dict[str, Any]:
    """The world's sample order (a 12366 tax consult, routed to tax-12366), received now."""
    return sample_order(flow_id, received_at=datetime.now(UTC).isoformat())


def emergency(flow_id: str) -> dict[str, Any]:
    """Smoke in a stairwell: the emergency lane to fire-119."""
    return {
        **consult(flow_id),
        "category": "help",
        "urgency": "emergency",
        "matter_code": "EM-SMOKE",
        "title": "居民楼楼道冒烟",
        "content": "来电人称三楼楼道冒烟，有焦糊味，家中有老人。",
        "location": {
            "address": "广州市越秀区东风中路100号3楼",
            "division_code": "440104",
            "coordinates": {"longitude": 113.2665, "latitude": 23.1322, "datum": "GCJ02"},
        },
        "caller": {"name": "陈女士", "phone": "13800138000"},
    }


def consult_request(port: int, flow_id: str) -> tuple[str, bytes]:
    """(flow_id, the intake POST of a consult)."""
    return flow_id, post(INTAKE, consult(flow_id), port)


def emergency_request(port: int, flow_id: str) -> tuple[str, bytes]:
    """(flow_id, the intake POST of an emergency)."""
    return flow_id, post(INTAKE, emergency(flow_id), port)
