"""The demo's summary, and the checks that decide whether it passed."""

from __future__ import annotations

from collections import Counter
from typing import Any

from gateway.demo.stage import Stage
from gateway.service.audit import ChainReport
from gateway.world.orders import POLICE_PUSH

AGENCY_FINAL = {"resolved", "replied"}  # the last status an agency itself reports


def summarise(stage: Stage, finals: dict[str, Any], report: ChainReport, elapsed: float) -> int:
    """Print the summary; 0 when nothing went wrong."""
    handoffs = [h for body in finals.values() for h in body["handoffs"]]
    events = [e["event"] for body in finals.values() for e in body["timeline"]]
    problems = problems_of(stage, finals, handoffs, events, report)
    delivered = sum(h["state"] == "delivered" for h in handoffs)
    duplicates = sum(a.duplicates() for a in stage.agencies.values())
    rows = [
        ("orders", f"{len(finals)} (one pushed in by 110, one polled from the mayor's mailbox)"),
        ("handoffs", f"{len(handoffs)} ({delivered} delivered)"),
        ("retries", f"{events.count('retry_scheduled')} (city-management outage)"),
        (
            "callbacks",
            f"{sum(len(v) for v in stage.hotline.statuses.values())} status callbacks "
            "to the hotline, all signatures verified",
        ),
        (
            "110 link",
            f"{len(stage.police.cases)} transfer(s) to 110 over SOAP, "
            f"{len(stage.police.confirmations)} confirmation(s) and "
            f"{len(stage.police.callbacks)} callback(s) back to 110",
        ),
        ("customs link", f"{len(stage.customs.cases)} case(s) to 12360 over SOAP, replied"),
        (
            "119 / 120",
            f"{_transfers(stage, 'fire-119')} / {_transfers(stage, 'ambulance-120')} "
            "emergency order(s) on the emergency lane, closed",
        ),
        ("alerts", dict(Counter(a["alert"] for a in stage.hotline.alerts)) or "none"),
        (
            "mayor's mailbox",
            f"{len(stage.mayor.items)} letter polled into an order; "
            f"{sum(len(r.versions) for r in stage.mayor.replies.values())} reply version(s) "
            "posted back (reply + correction)",
        ),
        (
            "utilities",
            f"{sum(len(u.received) for u in stage.utilities.values())} message(s) "
            f"to utilities over MQTT; {stage.broker_note}",
        ),
        ("final states", dict(Counter(body["status"] for body in finals.values()))),
        ("duplicates", f"{duplicates} repeated deliveries (each applied once by the receiver)"),
        (
            "audit chain",
            f"{report.entries} entries, "
            + ("verified" if report.ok else f"BROKEN at {report.seq}: {report.problem}"),
        ),
        ("elapsed", f"{elapsed:.1f}s"),
    ]
    print("\n── summary ─────────────────────────────────────────")
    for name, value in rows:
        print(f"{name:<17} {value}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print("demo " + ("passed" if not problems else "FAILED"))
    return 0 if not problems else 1


def problems_of(
    stage: Stage,
    finals: dict[str, Any],
    handoffs: list[dict[str, Any]],
    events: list[str],
    report: ChainReport,
) -> list[str]:
    """Everything that did not go as the script expects."""
    problems = [
        f"{oid} ended {body['status']}, expected revisited"
        for oid, body in finals.items()
        if body["status"] != "revisited"
    ]
    problems += [
        f"handoff {h['id']} to {h['agency']} is {h['state']}: {h['last_error']}"
        for h in handoffs
        if h["state"] != "delivered"
    ]
    if "retry_scheduled" not in events:
        problems.append("the outage caused no retry")
    for order_id, body in finals.items():
        heard = set(stage.hotline.statuses.get(order_id, []))
        if body["work_order"]["origin"] == "hotline" and not heard & AGENCY_FINAL:
            problems.append(f"the hotline never heard the agency's answer on {order_id}")
    pushed = POLICE_PUSH["jjdbh"]
    reasons = [c["DYYY"] for c in stage.police.callbacks if c["JJDBH"] == pushed]
    confirmed = [c for c in stage.police.confirmations if c["JJDBH"] == pushed]
    if reasons != ["1", "3"] or len(confirmed) != 1:
        problems.append(f"110 did not get confirmation, feedback (1) and revisit (3): {reasons}")
    for sim in (stage.police, stage.customs):
        problems += [f"simulator refused: {text}" for text in sim.refused]
        problems += [f"simulator call failed: {text}" for text in sim.answers_failed]
    problems += _emergency_problems(stage)
    versions = [len(r.versions) for r in stage.mayor.replies.values()]
    if versions != [2]:
        problems.append(f"the mayor's mailbox did not get a reply and its correction: {versions}")
    if not report.ok:
        problems.append("the audit chain does not verify")
    return problems


def _transfers(stage: Stage, agency: str) -> int:
    payloads = stage.agencies[agency].payloads
    return sum(p.get("type") == "work_order.transfer" for p in payloads)


def _emergency_problems(stage: Stage) -> list[str]:
    """120 is slow on purpose: exactly its order escalates; nothing is undeliverable."""
    escalated = [a for a in stage.hotline.alerts if a["alert"] == "emergency_unacknowledged"]
    problems = []
    if [a["agency"] for a in escalated] != ["ambulance-120"]:
        problems.append(f"expected one escalation, for the slow 120: {escalated}")
    on_channel = [
        a for a in stage.hotline.channel_alerts if a["alert"] == "emergency_unacknowledged"
    ]
    if len(on_channel) != 1:
        problems.append("the alert channel did not hear the escalation")
    if any(a["alert"] == "emergency_undeliverable" for a in stage.hotline.alerts):
        problems.append("an emergency handoff could not be delivered")
    return problems
