"""Scripted work orders for the demo, as a hotline in Guangzhou might submit them."""

from __future__ import annotations

from typing import Any

DEMO_ORDERS: list[dict[str, Any]] = [
    {
        "flow_id": "GZ12345-20261124-000101",
        "acceptance_no": "SL202611240101",
        "category": "complaint",
        "urgency": "normal",
        "title": "夜间施工噪音扰民",
        "content": "天河区某工地连续多日夜间施工至凌晨，噪音严重影响周边居民休息，请尽快处理。",
        "location": {
            "address": "广州市天河区天河北路某工地",
            "division_code": "440106",
            "coordinates": {"longitude": 113.3311, "latitude": 23.1465, "datum": "GCJ02"},
        },
        "caller": {"name": "陈女士", "phone": "13812345678"},
        "received_at": "2026-11-24T08:02:11+08:00",
    },
    {
        "flow_id": "GZ12345-20261124-000102",
        "acceptance_no": "SL202611240102",
        "category": "consult",
        "title": "个税专项附加扣除如何填报",
        "content": "市民咨询个人所得税专项附加扣除（子女教育、住房贷款利息）"
        "在哪里填报、需要什么材料。",
        "location": {"address": "广州市越秀区", "division_code": "440104"},
        "caller": {"name": "李先生", "phone": "13900001111"},
        "received_at": "2026-11-24T08:05:40+08:00",
    },
    {
        "flow_id": "GZ12345-20261124-000103",
        "acceptance_no": "SL202611240103",
        "category": "report",
        "title": "小区门口车辆违停堵塞消防通道",
        "content": "海珠区某小区门口长期有车辆违章停车，占用消防通道，居民出行困难。",
        "location": {"address": "广州市海珠区某小区东门", "division_code": "440105"},
        "caller": {"phone": "13700002222", "confidential": True},
        "received_at": "2026-11-24T08:11:03+08:00",
    },
    {
        "flow_id": "GZ12345-20261124-000104",
        "acceptance_no": "SL202611240104",
        "category": "report",
        "title": "餐馆拒开发票",
        "content": "白云区某餐馆消费后拒开发票，并称开票需加收税点。",
        "location": {"address": "广州市白云区某餐馆", "division_code": "440111"},
        "caller": {"name": "王先生", "phone": "13600003333"},
        "received_at": "2026-11-24T08:20:45+08:00",
    },
    {
        "flow_id": "GZ12345-20261124-000105",
        "acceptance_no": "SL202611240105",
        "category": "help",
        "matter_code": "TAX-0102",
        "title": "个税汇算退税进度查询",
        "content": "市民2025年度个税汇算已申请退税一个多月仍未到账，请求协助查询进度。",
        "caller": {"name": "赵女士", "phone": "13500004444"},
        "received_at": "2026-11-24T08:31:20+08:00",
    },
]
