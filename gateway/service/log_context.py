"""Which order, handoff and agency the code at hand works on, for every log line.

The dispatcher, intake and status sync bind these ids in a context variable; the log
set-up (`gateway.observability.logs`) copies them onto each record, so a JSON log line carries them
whoever logged it. The store runs each unit of work in a copy of its caller's context,
so lines logged in the database thread carry them too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

FIELDS = ("order_id", "handoff_id", "agency", "flow_id")

_CONTEXT: ContextVar[Mapping[str, str] | None] = ContextVar("lianxin_log_context", default=None)


def current() -> Mapping[str, str]:
    """The ids bound in this context."""
    return _CONTEXT.get() or {}


@contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Bind `ids` (those not None) for the code inside the block."""
    token = _CONTEXT.set(_merged(ids))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def bind(**ids: str | None) -> None:
    """Bind `ids` for the rest of this context (a task, a request, one unit of work)."""
    _CONTEXT.set(_merged(ids))


def _merged(ids: Mapping[str, str | None]) -> Mapping[str, str]:
    unknown = set(ids) - set(FIELDS)
    if unknown:
        raise ValueError(f"not a log context field: {sorted(unknown)}; known: {FIELDS}")
    return {**current(), **{k: v for k, v in ids.items() if v is not None}}
