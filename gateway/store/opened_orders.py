"""Orders this process wrote or read lately, kept opened, each beside the text it stored.

Reading an order back costs more than its SELECT: the document's JSON parsed, its sealed
caller fields decrypted, the model validated. Most reads come soon after a write of the
same process (intake writes an order; its agency's receipt reads it a few milliseconds
later). So the store keeps, per order id, the text it last wrote or read and what that
text holds. A read whose row holds that very text starts from what is kept; any other
text (another process's write, a write rolled back, an erasure, a re-seal) is read in
full and kept instead. The row is always read: the database stays the only truth, and
text equal to the kept text is the same order, whatever wrote it.

A write keeps the order's JSON dump, not the model it was given: a model changed with
`model_copy` was never validated, and what a reader gets must be what validating the
stored text gives. The first read validates the dump (no JSON to parse, nothing to
decrypt) and keeps the model; the reads after it take the model as it is.

Bounded in number (oldest out first) and in age (an entry older than `KEPT_SECONDS` is
not used): the kept orders hold personal fields in plain, and an erasure (`forget`)
cannot reach the entries of other processes or a read that raced it. A kept model is
shared, so nothing may change it in place (no code does: every change is a `model_copy`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from gateway.domain.workorder import WorkOrder

KEPT_ORDERS = 1024  # about the orders in flight between intake and their receipts
KEPT_SECONDS = 60.0  # well past an order's receipt; the bound on plain personal fields


@dataclass(frozen=True, slots=True)
class Opened:
    """An order as stored (`text`; `sealed`: its values with the seals) and opened
    (`plain`); `order` is the model validated from `plain`, None until a read needs it.
    Once validated, `sealed` and `plain` keep only the caller (what seals are kept by)."""

    text: str
    sealed: dict[str, Any]
    plain: dict[str, Any]
    order: WorkOrder | None = None

    def validated(self) -> Opened:
        """This entry with its model, made now if it has none yet."""
        if self.order is not None:
            return self
        order = WorkOrder.model_validate(self.plain)
        return replace(self, sealed=_caller(self.sealed), plain=_caller(self.plain), order=order)


def _caller(document: dict[str, Any]) -> dict[str, Any]:
    return {"caller": document.get("caller")}


class OpenedOrders:
    """Per order id, the last text this process stored or read and what it holds."""

    def __init__(
        self,
        size: int = KEPT_ORDERS,
        seconds: float = KEPT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size, self.seconds, self.clock = size, seconds, clock
        self._kept: dict[str, tuple[float, Opened]] = {}
        self._lock = threading.Lock()  # writer threads and readers share it

    def holding(self, order_id: str, text: str) -> Opened | None:
        """The kept entry if `text` is the one kept for `order_id`, and it is fresh."""
        found = self._kept.get(order_id)
        if found is None:
            return None
        at, kept = found
        fresh = self.clock() - at <= self.seconds
        return kept if fresh and kept.text == text else None

    def keep(self, order_id: str, opened: Opened) -> None:
        with self._lock:
            self._kept.pop(order_id, None)  # to the back: the newest
            self._kept[order_id] = (self.clock(), opened)
            if len(self._kept) > self.size:
                del self._kept[next(iter(self._kept))]

    def forget(self, order_id: str) -> None:
        with self._lock:
            self._kept.pop(order_id, None)

    def __len__(self) -> int:
        return len(self._kept)
