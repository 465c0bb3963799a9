"""The simulated world's work orders, as a hotline in Guangzhou might submit them: the
demo's script, and one order per utility company for the MQTT tests."""

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
    {
        "flow_id": "GZ12345-20261124-000106",
        "acceptance_no": "SL202611240106",
        "category": "report",
        "matter_code": "GA-0104",
        "title": "地铁站口黑车长期揽客",
        "content": "体育西路地铁站B口每晚有多辆无牌车辆揽客，疑似非法营运，存在安全隐患。",
        "location": {"address": "广州市天河区体育西路地铁站B口", "division_code": "440106"},
        "caller": {"name": "周先生", "phone": "13422225555"},
        "received_at": "2026-11-24T08:40:02+08:00",
    },
    {
        "flow_id": "GZ12345-20261124-000107",
        "acceptance_no": "SL202611240107",
        "category": "consult",
        "title": "入境携带化妆品是否需要申报",
        "content": "市民咨询从香港经口岸入境，携带自用化妆品价值约六千元，是否需要向海关申报。",
        "caller": {"name": "吴女士", "phone": "13311116666"},
        "received_at": "2026-11-24T08:45:30+08:00",
    },
]

#: submitted only when an MQTT broker is available (the heating company is on MQTT)
UTILITY_ORDERS: list[dict[str, Any]] = [
    {
        "flow_id": "GZ12345-20261124-000108",
        "acceptance_no": "SL202611240108",
        "category": "help",
        "urgency": "urgent",
        "title": "家中暖气不热",
        "content": "银川市兴庆区某小区3号楼暖气不热，室温只有十二度，家中有老人。",
        "location": {"address": "银川市兴庆区某小区3号楼", "division_code": "640104"},
        "caller": {"name": "马女士", "phone": "13995001234"},
        "received_at": "2026-11-24T06:00:00+08:00",
    },
]

#: a 双非 case 110 pushes to 12345 during the demo (TransferIn)
POLICE_PUSH = {
    "jjdbh": "J20261124000318",
    "content": "报警人称小区旁工地夜间施工噪声扰民，经研判非警情，转12345处理。",
    "code": "9102",
    "name": "施工噪声",
}

#: a 12345 call that turns out to be an emergency: each goes to 119/120 on the emergency lane
EMERGENCY_ORDERS: list[dict[str, Any]] = [
    {
        "flow_id": "GZ12345-20261124-000109",
        "acceptance_no": "SL202611240109",
        "category": "help",
        "urgency": "emergency",
        "matter_code": "EM-SMOKE",
        "title": "居民楼楼道冒烟",
        "content": "来电人称越秀区某小区3栋三楼楼道冒烟，有焦糊味，家中有行动不便的老人。",
        "location": {
            "address": "广州市越秀区东风中路某小区3栋",
            "division_code": "440104",
            "coordinates": {"longitude": 113.2665, "latitude": 23.1322, "datum": "GCJ02"},
        },
        "caller": {"name": "黄女士", "phone": "13711112222"},
    },
    {
        "flow_id": "GZ12345-20261124-000110",
        "acceptance_no": "SL202611240110",
        "category": "help",
        "urgency": "emergency",
        "matter_code": "EM-COLLAPSE",
        "title": "公园内老人晕倒",
        "content": "来电人称越秀公园北门附近一名老人突然晕倒，呼之不应。",
        "location": {
            "address": "广州市越秀区越秀公园北门",
            "division_code": "440104",
            "coordinates": {"longitude": 113.2689, "latitude": 23.1411, "datum": "GCJ02"},
        },
        "caller": {"name": "梁先生", "phone": "13622223333"},
    },
]

#: a letter a citizen writes to the mayor's mailbox (the board's own field names)
MAYOR_LETTER: dict[str, Any] = {
    "lx": "投诉",
    "bt": "老旧小区加装电梯进度缓慢",
    "nr": "荔湾区某小区加装电梯已公示半年仍未动工，请相关部门督促。",
    "xm": "何先生",
    "dh": "13533334444",
    "dz": "荔湾区某小区",
    "sj": "2026-11-24 09:30:00",
}


#: one realistic order per company (each routes by the catalogue's keywords)
ORDER_PER_UTILITY: list[dict[str, Any]] = [
    {
        "flow_id": "GZ12345-20261124-000105",
        "acceptance_no": "SL202611240105",
        "category": "help",
        "urgency": "urgent",
        "title": "路面爆管大量冒水",
        "content": "天河区某路口自来水管爆管，路面积水严重，周边小区停水。",
        "location": {"address": "广州市天河区某路口", "division_code": "440106"},
        "caller": {"name": "陈先生", "phone": "13800002222"},
        "received_at": "2026-11-24T07:10:00+08:00",
    },
    {
        "flow_id": "GZ12345-20261124-000106",
        "acceptance_no": "SL202611240106",
        "category": "help",
        "title": "整栋楼突然停电",
        "content": "越秀区某大厦整栋楼停电一小时，电梯停运。",
        "location": {"address": "广州市越秀区某大厦", "division_code": "440104"},
        "caller": {"name": "周女士", "phone": "13700003333"},
        "received_at": "2026-11-24T07:20:00+08:00",
    },
    {
        "flow_id": "GZ12345-20261124-000107",
        "acceptance_no": "SL202611240107",
        "category": "help",
        "title": "燃气表不走字",
        "content": "海珠区某小区住户燃气表不走字，申请上门检查更换。",
        "location": {"address": "广州市海珠区某小区", "division_code": "440105"},
        "caller": {"name": "黄先生", "phone": "13600004444"},
        "received_at": "2026-11-24T07:30:00+08:00",
    },
    *UTILITY_ORDERS,  # the heating order, as the demo submits it
]


def sample_order(flow_id: str = "GZ-1", **changes: Any) -> dict[str, Any]:
    """The world's sample order: a valid tax consult (routes to 12366), changed where asked."""
    base: dict[str, Any] = {
        "flow_id": flow_id,
        "acceptance_no": f"SL-{flow_id}",
        "category": "consult",
        "title": "个税专项附加扣除如何填报",
        "content": "市民咨询个人所得税专项附加扣除的填报方法。",
        "location": {"address": "广州市越秀区", "division_code": "440104"},
        "caller": {"name": "李先生", "phone": "13900001111"},
        "received_at": "2026-11-24T08:05:40+08:00",
    }
    return {**base, **changes}
