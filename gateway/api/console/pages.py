"""The console's read-only pages: failed deliveries, one handoff's timeline, the bulk
replay form, agencies and the audit chain. Bad query input is a typed 4xx page."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import RedirectResponse

from gateway.api.console.access import current_session, keys, looker
from gateway.api.console.chain import chain_status
from gateway.api.console.filters import agency_names, replay_page, selection
from gateway.api.console.render import ConsoleRoute, page
from gateway.api.console.session import LOGIN_COOKIE, LOGIN_SECONDS, Session
from gateway.api.deps import gateway
from gateway.api.health_view import agency_health
from gateway.bootstrap import Gateway
from gateway.service.ports.queries import FailedDelivery
from gateway.service.ports.store import UnitOfWork
from gateway.service.views.handoff import handoff_timeline

router = APIRouter(prefix="/admin", route_class=ConsoleRoute, include_in_schema=False)
GatewayDep = Annotated[Gateway, Depends(gateway)]
Looker = Annotated[Session, Depends(looker)]
Text = Annotated[str | None, Query(max_length=200)]
Id = Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9_\-:.]+$")]
PAGE = 50
NOTICES = {
    "replayed": "已重新投递 Replayed: the delivery is back in the outbox",
    "not_dead": "未重投 Not replayed: this delivery is not a dead letter (any more)",
    "paused": "已暂停 Paused: no new deliveries to this agency until it is resumed",
    "resumed": "已恢复 Resumed: waiting deliveries go out now",
}


@router.get("")
async def home() -> Response:
    """The console starts at the failed deliveries."""
    return RedirectResponse("/admin/deliveries", 303)


@router.get("/login")
async def login_form(request: Request) -> Response:
    """The login page, with a pre-login nonce cookie for its CSRF token."""
    if await current_session(request) is not None:  # a logged-out cookie stays out
        return RedirectResponse("/admin/deliveries", 303)
    nonce = secrets.token_urlsafe(16)
    request.state.console_csrf = keys(request).csrf(nonce)
    response = page(request, "login.html", problem=None)
    secure = request.url.scheme == "https"
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        LOGIN_SECONDS,
        path="/admin",
        httponly=True,
        samesite="strict",
        secure=secure,
    )
    return response


@router.get("/deliveries")
async def deliveries(
    request: Request,
    gw: GatewayDep,
    _who: Looker,
    agency: Text = None,
    since: Text = None,
    until: Text = None,
    error: Text = None,
    state: Annotated[str | None, Query(max_length=16)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    """Failed and dead-lettered deliveries, newest first, a page at a time."""
    chosen = selection(
        gw.directory, agency=agency, since=since, until=until, error=error, state=state
    )

    def read(uow: UnitOfWork) -> tuple[int, list[FailedDelivery]]:
        query = chosen.failures()
        return uow.handoff_queries.count_failures(query), uow.handoff_queries.failures(
            query, before, PAGE
        )

    total, rows = await gw.store.read(read)
    older = chosen.query_string(before=rows[-1].seq) if len(rows) == PAGE else None
    return page(
        request,
        "deliveries.html",
        rows=rows,
        total=total,
        form=chosen.form_values(),
        agencies=agency_names(gw.directory),
        older=older,
        first=chosen.query_string() if before else None,
    )


@router.get("/orders/{order_id}/handoffs/{handoff_id}")
async def timeline(
    request: Request,
    gw: GatewayDep,
    _who: Looker,
    order_id: Id,
    handoff_id: Id,
    notice: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """One handoff: its state, the order's audit steps and the payload, masked."""
    view = await gw.store.read(lambda uow: handoff_timeline(uow, order_id, handoff_id))
    return page(
        request,
        "timeline.html",
        t=view,
        agency_name=agency_names(gw.directory).get(
            view.view.handoff.agency, view.view.handoff.agency
        ),
        notice=NOTICES.get(notice or ""),
    )


@router.get("/replay")
async def replay_form(
    request: Request,
    gw: GatewayDep,
    _who: Looker,
    agency: Text = None,
    since: Text = None,
    until: Text = None,
) -> Response:
    """The bulk replay form: choose an agency and a window, then see the count."""
    chosen = selection(gw.directory, agency=agency, since=since, until=until)
    return replay_page(request, gw.directory, chosen)


@router.get("/agencies")
async def agencies(
    request: Request,
    gw: GatewayDep,
    _who: Looker,
    notice: Annotated[str | None, Query(max_length=20)] = None,
    window: Annotated[float, Query(ge=60, le=7 * 86400)] = 3600.0,
) -> Response:
    """Every agency's health, pause state (with its reason) and the pause/resume forms."""
    rows = await agency_health(gw, window)
    holds = await gw.store.read(lambda uow: uow.agencies.states())
    return page(
        request,
        "agencies.html",
        rows=rows,
        holds=holds,
        window=window,
        notice=NOTICES.get(notice or ""),
    )


@router.get("/audit")
async def audit(request: Request, gw: GatewayDep, _who: Looker) -> Response:
    """Whether the audit chain verifies, how many entries it has, and its head."""
    chain = await chain_status(gw.store)
    return page(request, "audit.html", chain=chain)
