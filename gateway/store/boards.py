"""What message-board transports keep in the database: poll cursors and posted reply ids.

The cursor lives in `poll_cursors`; reply ids are not stored twice: a reply's id is the
`agency_ref` of the receipt of the event handoff that posted it.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.domain.messages import HandoffKind
from gateway.service.ports.store import Store, UnitOfWork


class SqlBoardState:
    """The BoardState port over the store."""

    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock

    async def cursor(self, board: str) -> str | None:
        """Where polling `board` resumes; None from its beginning."""
        return await self.store.read(lambda uow: uow.cursors.get(board))

    async def advance(self, board: str, cursor: str) -> None:
        """Keep `cursor` for `board` (after the messages before it are committed)."""
        now = self.clock()
        await self.store.write(lambda uow: uow.cursors.save(board, cursor, now))

    async def reply_ref(self, board: str, order_id: str) -> str | None:
        """The id the board gave the newest reply already posted for `order_id`."""

        def newest(uow: UnitOfWork) -> str | None:
            refs = [
                view.agency_ref
                for view in uow.handoff_queries.for_order(order_id)
                if view.handoff.agency == board
                and view.handoff.kind == HandoffKind.event
                and view.agency_ref
            ]
            return refs[-1] if refs else None

        return await self.store.read(newest)
