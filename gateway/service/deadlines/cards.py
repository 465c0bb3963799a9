"""Deadline cards per the jurisdiction's policy: warning, overdue and seriously overdue.

Each city names and colours its cards (Foshan: yellow when a case is overdue, red when it
is seriously overdue); the default policy keeps a yellow warning before the deadline and a
red card at it. A card is a watch row whose level is the card's colour, so it fires once.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from gateway.mapping.profiles import CardTier, DeadlinePolicy
from gateway.service.deadlines.workdays import later_by
from gateway.service.ports.calendar import WorkdayCalendar
from gateway.service.ports.store import Watch

DEFAULT_ZONE = "Asia/Shanghai"
#: without a jurisdiction policy: a yellow warning at 80 % of the time, a red card at the deadline
DEFAULT_CARDS = (
    CardTier(tier="warning", name="黄牌", colour="yellow", at=0.8),
    CardTier(tier="overdue", name="红牌", colour="red"),
)


def zone_of(policy: DeadlinePolicy | None) -> tzinfo:
    """The time zone whose days the policy counts (Asia/Shanghai without a policy)."""
    return ZoneInfo(policy.time_zone if policy else DEFAULT_ZONE)


def tiers_of(policy: DeadlinePolicy | None) -> tuple[CardTier, ...]:
    """The policy's cards, or the default yellow warning and red card."""
    return policy.card_tiers() if policy else DEFAULT_CARDS


def tier_named(policy: DeadlinePolicy | None, colour: str) -> CardTier | None:
    """The card of `colour` under the policy (a watch's level is its card's colour)."""
    return next((tier for tier in tiers_of(policy) if tier.colour == colour), None)


def plan_cards(
    order_id: str,
    kind: str,
    start: datetime,
    end: datetime,
    policy: DeadlinePolicy | None,
    calendar: WorkdayCalendar,
    now: float,
) -> list[Watch]:
    """One watch per card of the deadline `end` (a warning only while it is still ahead)."""
    watches = []
    span = (start.timestamp(), end.timestamp())  # an aware datetime's timestamp is not free
    for tier in tiers_of(policy):
        if tier.tier == "warning" and now >= span[1]:
            continue
        due_at = card_time(tier, end, span, policy, calendar)
        watches.append(Watch(order_id, kind, tier.colour, due_at))
    return watches


def card_time(
    tier: CardTier,
    end: datetime,
    span: tuple[float, float],
    policy: DeadlinePolicy | None,
    calendar: WorkdayCalendar,
) -> float:
    """When the card fires, as epoch seconds (`span`: the deadline's start and `end`, as
    epoch seconds)."""
    start_s, end_s = span
    if tier.at is not None:
        return start_s + (end_s - start_s) * tier.at
    if tier.after_working_days is not None:
        serious, _ = later_by(end, tier.after_working_days, calendar, zone_of(policy))
        return serious.timestamp()
    return end_s
