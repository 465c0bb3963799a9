"""Orders this process wrote or read lately, kept opened, each beside the text it stored.

Reading an order back costs more than its SELECT: the document's JSON parsed, its sealed
caller fields decrypted, the model validated. Most reads come soon after a write of the
same process (intake writes an order; its agency's receipt reads it a few milliseconds
later). So the store keeps, per order id, the text it last wrote or read and the opened
order that text holds. A read whose row holds that very text takes the kept order; any
other text (another process's write, a write rolled back, an erasure, a re-seal) is read
in full and kept instead. The row is always read: the database stays the only truth, and
text equal to the kept text is the same order, whatever wrote it.

Bounded (oldest out first); a kept order is shared, so nothing may change it in place
(no code does: every change is a `model_copy`). An erasure drops the order's entry, so
its plain personal fields do not outlive it here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from gateway.domain.workorder import WorkOrder

KEPT_ORDERS = 1024  # about the orders in flight between intake and their receipts


@dataclass(frozen=True, slots=True)
class Opened:
    """An order as stored (`text`, and its values with the seals: `sealed`) and opened."""

    text: str
    sealed: dict[str, Any]
    plain: dict[str, Any]
    order: WorkOrder


class OpenedOrders:
    """Per order id, the last text this process stored or read and what it holds."""

    def __init__(self, size: int = KEPT_ORDERS) -> None:
        self.size = size
        self._kept: dict[str, Opened] = {}
        self._lock = threading.Lock()  # writer threads and readers share it

    def holding(self, order_id: str, text: str) -> Opened | None:
        """The kept order if `text` is the one kept for `order_id`, else None."""
        kept = self._kept.get(order_id)
        return kept if kept is not None and kept.text == text else None

    def keep(self, opened: Opened) -> None:
        order_id = opened.order.id
        with self._lock:
            self._kept.pop(order_id, None)  # to the back: the newest
            self._kept[order_id] = opened
            if len(self._kept) > self.size:
                del self._kept[next(iter(self._kept))]

    def forget(self, order_id: str) -> None:
        with self._lock:
            self._kept.pop(order_id, None)

    def __len__(self) -> int:
        return len(self._kept)
