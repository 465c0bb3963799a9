"""In-memory connector: records deliveries instead of sending them.

Protocol: none (in process). Direction: outbound. Guarantee: every call is recorded.
Authentication: none. Errors: whatever `fail_with` is set to, for tests of retries.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from gateway.domain.errors import DeliveryError
from gateway.domain.messages import Delivery, Receipt
from gateway.mapping.profiles import AgencyProfile
from gateway.settings import Settings


@dataclass
class MemoryConnector:
    """Keeps every delivery in a list; raises `fail_with` while it is set."""

    name: str = "memory"
    delivered: list[Delivery] = field(default_factory=list)
    fail_with: DeliveryError | None = None

    async def deliver(self, delivery: Delivery) -> Receipt:
        """Record `delivery` (or fail, when told to)."""
        if self.fail_with is not None:
            raise self.fail_with
        self.delivered.append(delivery)
        ref = f"MEM-{len(self.delivered):06d}"
        return Receipt(200, hashlib.sha256(ref.encode()).hexdigest(), agency_ref=ref)

    async def aclose(self) -> None:
        """Nothing to release."""


def build(profile: AgencyProfile, settings: Settings | None = None) -> MemoryConnector:
    """A memory connector for `profile`."""
    return MemoryConnector(name=profile.id)
