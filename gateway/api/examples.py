"""Request examples for the OpenAPI (`openapi_examples`): realistic 12345 work orders and
hotline events. Each one is a valid body; `tests/unit/api/test_openapi_document.py` checks
them against the request models, and schemathesis' examples phase sends them."""

from __future__ import annotations

from typing import Any

WORK_ORDERS: dict[str, Any] = {
    "water": {
        "summary": "投诉：小区水压不足（自动分派至市自来水公司）",
        "value": {
            "flow_id": "GZ12345-20261124-000102",
            "acceptance_no": "SL202611240102",
            "category": "complaint",
            "title": "天河区某小区连续三天水压不足",
            "content": "市民反映天河区某小区近三天早晚高峰自来水水压不足，高层住户基本无水，"
            "已向物业反映未果，要求供水部门尽快排查处理。",
            "location": {"address": "广州市天河区某小区7栋", "division_code": "440106"},
            "caller": {"name": "李先生", "phone": "13900001111"},
            "received_at": "2026-11-24T08:05:40+08:00",
            "due": {"resolve_by": "2026-11-27T18:00:00+08:00"},
        },
    },
    "noise": {
        "summary": "投诉：夜间施工噪音（市城市管理和综合执法局）",
        "value": {
            "flow_id": "GZ12345-20261124-000318",
            "acceptance_no": "SL202611240318",
            "category": "complaint",
            "urgency": "urgent",
            "title": "越秀区某工地夜间施工噪音扰民",
            "content": "市民反映越秀区某路段工地连续多日晚上十一点后仍在施工，噪音很大，"
            "影响附近居民休息，请相关部门核实处理并反馈。",
            "location": {"address": "广州市越秀区某路段工地", "division_code": "440104"},
            "caller": {"name": "张女士", "phone": "13700002222", "confidential": True},
            "received_at": "2026-11-24T23:20:05+08:00",
            "channel": "phone",
        },
    },
    "routed": {
        "summary": "咨询：个税专项附加扣除（话务员直接指定承办单位）",
        "value": {
            "flow_id": "GZ12345-20261125-000007",
            "acceptance_no": "SL202611250007",
            "category": "consult",
            "title": "个税专项附加扣除如何填报",
            "content": "市民咨询个人所得税专项附加扣除（子女教育、住房贷款利息）在哪里填报、"
            "需要什么材料。",
            "location": {"address": "广州市越秀区", "division_code": "440104"},
            "received_at": "2026-11-25T09:12:00+08:00",
            "route_to": ["tax-12366"],
        },
    },
}

HOTLINE_EVENTS: dict[str, Any] = {
    "supervise": {
        "summary": "督办：市民再次来电催办",
        "value": {
            "type": "supervise",
            "event_id": "EV-GZ12345-20261126-0042",
            "occurred_at": "2026-11-26T10:30:00+08:00",
            "note": "市民再次来电反映水压仍未恢复，请承办单位加快处理并于今日内答复。",
        },
    },
    "supplement": {
        "summary": "补充材料：市民补充现场情况",
        "value": {
            "type": "supplement",
            "event_id": "EV-GZ12345-20261124-0107",
            "occurred_at": "2026-11-24T15:02:00+08:00",
            "note": "市民补充：7栋和8栋均有此情况，15楼以上最严重。",
        },
    },
    "approve_extension": {
        "summary": "同意延期：延长5个工作日",
        "value": {
            "type": "approve_extension",
            "event_id": "EV-GZ12345-20261127-0003",
            "occurred_at": "2026-11-27T09:00:00+08:00",
            "extend_working_days": 5,
            "reason": "需更换小区加压泵，同意延期。",
        },
    },
    "revisit": {
        "summary": "回访：市民满意",
        "value": {
            "type": "revisit",
            "event_id": "EV-GZ12345-20261201-0019",
            "occurred_at": "2026-12-01T16:40:00+08:00",
            "satisfaction": 5,
            "note": "回访市民，表示水压已恢复正常，对处理结果满意。",
        },
    },
}

REPLAY: dict[str, Any] = {
    "dry_run": {
        "summary": "先数一数：市自来水公司昨晚的死信",
        "value": {
            "agency": "water-utility",
            "since": "2026-11-24T14:00:00+00:00",
            "until": "2026-11-24T22:00:00+00:00",
            "dry_run": True,
        },
    },
    "replay": {
        "summary": "重放一条指定的投递",
        "value": {"handoff_ids": ["msg_01a20eafc91fe1bef01ad54a840f"], "dry_run": False},
    },
}

PAUSE: dict[str, Any] = {
    "maintenance": {
        "summary": "系统维护，暂停推送",
        "value": {"reason": "市自来水公司系统升级，暂停推送至今晚22:00"},
    }
}

AGENCY_MESSAGES: dict[str, Any] = {
    "status": {
        "summary": "承办单位签收（状态回传）",
        "value": {
            "type": "status",
            "order_id": "wo_01a20eafc917c2326fb7485f48c3",
            "status": "signed",
            "occurred_at": "2026-11-24T08:12:02+08:00",
            "agency_ref": "ZLS-000001",
        },
    },
    "transfer": {
        "summary": "承办单位转来新诉求（转12345平台）",
        "value": {
            "type": "transfer",
            "work_order": {
                "flow_id": "CG-20261124-0031",
                "acceptance_no": "CG-SL-20261124-0031",
                "category": "help",
                "title": "市民求助：小区内部供水管网漏水",
                "content": "巡查发现某小区内部供水管网漏水，属小区物业管理范围，"
                "转12345平台协调物业及供水部门处理。",
                "location": {"address": "广州市天河区某小区", "division_code": "440106"},
                "received_at": "2026-11-24T10:15:00+08:00",
            },
            "unit": "天河区城管执法队",
            "person": "赵六",
        },
    },
}
