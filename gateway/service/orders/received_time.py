"""When an order says it was received: never later than now, give or take clock skew.

Deadlines and cards count from `received_at`; one set in the future would set them all
wrong, so it is refused rather than trusted.
"""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.domain.errors import ReceivedInFuture

#: clock skew tolerated between the hotline's clock and ours (Standard Webhooks' 5 minutes)
FUTURE_TOLERANCE_S = 300.0


def check_received_at(received_at: datetime, now: float) -> None:
    """Raise ReceivedInFuture when `received_at` lies beyond now plus the tolerance."""
    ahead = received_at.timestamp() - now
    if ahead > FUTURE_TOLERANCE_S:
        raise ReceivedInFuture(
            f"received_at {received_at.isoformat()} is {ahead:.0f} s after the gateway's "
            f"clock; at most {FUTURE_TOLERANCE_S:.0f} s of clock skew is tolerated",
            received_at=received_at.isoformat(),
            now=datetime.fromtimestamp(now, UTC).isoformat(),
            tolerance_s=FUTURE_TOLERANCE_S,
        )
