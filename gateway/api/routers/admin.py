"""Operations: dead-lettered deliveries, replay, pausing and resuming agencies.

Reading is for operators, admins and viewers; acting (replay, pause, resume) for
operators and admins. Whoever acts is named in the audit trail.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gateway.api.auth import Principal, Role, allow
from gateway.api.deps import gateway
from gateway.api.examples import PAUSE, REPLAY
from gateway.api.health_view import agency_health
from gateway.api.models import (
    AgencyHealthView,
    AgencyStateView,
    CancelledReplays,
    DeadLetters,
    ReplayOutcome,
)
from gateway.bootstrap import Gateway
from gateway.domain.bounds import AGENCY_ID_MAX, HANDOFF_ID_MAX, NO_CONTROL, OWN_ID, TEXT
from gateway.domain.errors import InputError
from gateway.service.operations import pausing, replay
from gateway.service.ports.queries import DeadLetter, DeadLetterFilter
from gateway.service.ports.store import AgencyState
from gateway.service.views import health

router = APIRouter(prefix="/v1/admin", tags=["operations"])
GatewayDep = Annotated[Gateway, Depends(gateway)]
Watcher = Annotated[Principal, Depends(allow(Role.operator, Role.viewer))]
Operator = Annotated[Principal, Depends(allow(Role.operator))]


class ReplayRequest(BaseModel):
    """Which dead letters to replay; `dry_run` only counts them."""

    model_config = ConfigDict(extra="forbid")

    agency: str | None = Field(default=None, max_length=AGENCY_ID_MAX, pattern=NO_CONTROL)
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    handoff_ids: list[Annotated[str, Field(max_length=HANDOFF_ID_MAX, pattern=OWN_ID)]] = Field(
        default_factory=list, max_length=10_000
    )
    dry_run: bool


def _epoch(at: datetime | None) -> float | None:
    return None if at is None else at.timestamp()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def _row(dead: DeadLetter) -> dict[str, Any]:
    return {
        "id": dead.id,
        "order_id": dead.order_id,
        "agency": dead.agency,
        "kind": dead.kind,
        "lane": dead.lane,
        "attempts": dead.attempts,
        "last_error": dead.last_error,
        "last_status": dead.last_status,
        "created_at": _iso(dead.created_at),
    }


@router.get(
    "/deliveries",
    summary="Dead-lettered deliveries, oldest first",
    response_model=None,
    responses={200: {"model": DeadLetters, "description": "the dead letters, oldest first"}},
)
async def deliveries(
    gw: GatewayDep,
    _who: Watcher,
    state: Annotated[str, Query(max_length=16)] = "dead",
    agency: Annotated[str | None, Query(max_length=AGENCY_ID_MAX, pattern=NO_CONTROL)] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=replay.LIST_LIMIT)] = 100,
) -> dict[str, Any]:
    """The dead letters of an agency and window, with how many there are in all."""
    if state != "dead":
        raise InputError("only state=dead can be listed here", state=state)
    which = replay.checked(gw.directory, DeadLetterFilter(agency, _epoch(since), _epoch(until)))

    def read(uow: Any) -> tuple[int, list[DeadLetter]]:
        return replay.count_dead(uow, which), replay.list_dead(uow, which, limit)

    total, rows = await gw.store.read(read)
    return {"state": state, "total": total, "deliveries": [_row(d) for d in rows]}


@router.post(
    "/replay",
    summary="Count (dry run) or replay dead-lettered deliveries",
    response_model=None,
    responses={200: {"model": ReplayOutcome, "description": "counted, or replayed"}},
)
async def replay_dead(
    body: Annotated[ReplayRequest, Body(openapi_examples=REPLAY)],
    request: Request,
    gw: GatewayDep,
    who: Operator,
) -> dict[str, Any]:
    """Put the selected dead letters back in the outbox, in batches, audited with who."""
    which = replay.checked(
        gw.directory,
        DeadLetterFilter(
            body.agency, _epoch(body.since), _epoch(body.until), tuple(body.handoff_ids)
        ),
    )
    count = await gw.store.read(lambda uow: replay.count_dead(uow, which))
    if body.dry_run:
        return {"dry_run": True, "count": count}
    replay.require_bounds(which)
    cancel = threading.Event()
    running = _running(request)
    running.add(cancel)
    try:
        outcome = await replay.replay(
            gw.store,
            which,
            by=who.name,
            clock=gw.dispatcher.clock,
            cancel=cancel,
            progress=lambda _state: gw.dispatcher.wake_all(),
        )
    finally:
        running.discard(cancel)
    return {
        "dry_run": False,
        "count": count,
        "replayed": outcome.replayed,
        "batches": outcome.batches,
        "cancelled": outcome.cancelled,
    }


@router.post(
    "/replay/cancel",
    summary="Stop every replay under way after its current batch",
    response_model=None,
    responses={
        200: {"model": CancelledReplays, "description": "how many replays were told to stop"}
    },
)
async def cancel_replays(request: Request, _who: Operator) -> dict[str, Any]:
    """Set the cancel flag of every running replay."""
    running = _running(request)
    for cancel in list(running):
        cancel.set()
    return {"cancelled": len(running)}


class PauseRequest(BaseModel):
    """Why an agency is paused (for the audit trail)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="paused by an operator", max_length=500, pattern=TEXT)


def _state(state: AgencyState) -> dict[str, Any]:
    return {
        "agency": state.agency,
        "paused": state.paused,
        "disabled": state.disabled,
        "reason": state.reason,
        "changed_by": state.changed_by,
        "updated_at": _iso(state.updated_at),
    }


@router.get(
    "/agencies",
    summary="Each agency's delivery health over a recent window",
    response_model=None,
    responses={200: {"model": list[AgencyHealthView], "description": "every profiled agency"}},
)
async def agencies_health(
    gw: GatewayDep,
    _who: Watcher,
    window: Annotated[float, Query(gt=0, le=health.MAX_WINDOW)] = 3600.0,
) -> list[dict[str, Any]]:
    """Success rate, latency, backlog, dead letters, circuit and state of every agency."""
    return [health.as_record(h) for h in await agency_health(gw, window)]


@router.post(
    "/agencies/{agency}/pause",
    summary="Hold an agency's deliveries",
    response_model=None,
    responses={200: {"model": AgencyStateView, "description": "the agency's state now"}},
)
async def pause_agency(
    agency: str,
    gw: GatewayDep,
    who: Operator,
    body: Annotated[PauseRequest | None, Body(openapi_examples=PAUSE)] = None,
) -> dict[str, Any]:
    """No new deliveries to `agency` until it is resumed; its handoffs wait in the outbox."""
    reason = (body or PauseRequest()).reason
    now = gw.dispatcher.clock()
    state = await gw.store.write(
        lambda uow: pausing.pause(uow, gw.directory, agency, who.name, reason, now)
    )
    return _state(state)


@router.post(
    "/agencies/{agency}/resume",
    summary="Deliver to an agency again",
    response_model=None,
    responses={200: {"model": AgencyStateView, "description": "the agency's state now"}},
)
async def resume_agency(agency: str, gw: GatewayDep, who: Operator) -> dict[str, Any]:
    """Clear the pause (and a 410 mark); waiting handoffs go out on the next claim."""
    now = gw.dispatcher.clock()
    state = await gw.store.write(
        lambda uow: pausing.resume(uow, gw.directory, agency, who.name, now)
    )
    gw.dispatcher.wake_all()
    return _state(state)


def _running(request: Request) -> set[threading.Event]:
    """The cancel flags of the replays running in this app."""
    state = request.app.state
    if not hasattr(state, "replays"):
        state.replays = set()
    return state.replays  # type: ignore[no-any-return]
