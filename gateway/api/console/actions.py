"""The console's actions: log in and out, replay one or many dead letters (dry run first),
cancel a replay, pause and resume an agency. Each is a POST form with a CSRF token, and
each action is audited under the name of the token holder who logged in."""

from __future__ import annotations

import threading
import time
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import RedirectResponse

from gateway.api.console.access import LOOKERS, Form, actor, keys, read_form
from gateway.api.console.filters import Selection, replay_page, selection
from gateway.api.console.render import ConsoleRoute, page
from gateway.api.console.session import LOGIN_COOKIE, SESSION_COOKIE
from gateway.api.deps import gateway
from gateway.bootstrap import Gateway
from gateway.domain.errors import Forbidden, InputError
from gateway.service.operations import pausing, replay
from gateway.service.ports.queries import DeadLetterFilter

router = APIRouter(prefix="/admin", route_class=ConsoleRoute, include_in_schema=False)
GatewayDep = Annotated[Gateway, Depends(gateway)]
Actor = Annotated[Form, Depends(actor)]
Id = Annotated[str, Path(max_length=50, pattern=r"^[A-Za-z0-9_\-:.]+$")]
REFUSED = "令牌无效 Token not recognised"  # nothing more: not whether the holder exists
NOT_FOR_CONSOLE = "此令牌不能登录控制台 This token's role cannot use the console"


@router.post("/login")
async def login(request: Request) -> Response:
    """Trade a pasted API token for a session cookie; an empty or unknown token never enters."""
    fields = await read_form(request)
    if not keys(request).csrf_ok(request.cookies.get(LOGIN_COOKIE), fields.get("csrf")):
        raise Forbidden("the login form has expired: reload the page and try again")
    book = request.app.state.tokens
    holder = book.holder(fields.get("token", "").strip())  # even when the API is open
    if holder is None or holder.role.value not in LOOKERS:
        request.state.console_csrf = fields.get("csrf", "")  # the form stays usable
        if holder is None:
            return page(request, "login.html", 401, problem=REFUSED)
        return page(request, "login.html", 403, problem=NOT_FOR_CONSOLE)
    held = book.digest_of(holder.name)
    digest = held[0] if held is not None else b""
    _session, cookie = keys(request).issue(holder.name, holder.role.value, digest)
    response = RedirectResponse("/admin/deliveries", 303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        int(keys(request).lifetime),
        path="/admin",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/admin")
    return response


@router.post("/logout")
async def logout(request: Request, gw: GatewayDep) -> Response:
    """End the session at once: its nonce is revoked in the database, so a copy of the
    cookie is refused by every process sharing it, and the cookie is dropped."""
    session = keys(request).open(request.cookies.get(SESSION_COOKIE))
    fields = await read_form(request)
    if session is not None and not keys(request).csrf_ok(session.nonce, fields.get("csrf")):
        raise Forbidden("the form did not come from this console: reload it")
    if session is not None:
        ended, expires, now = session.nonce, session.expires, time.time()
        await gw.store.write(lambda uow: uow.security.revoke_session(ended, expires, now))
    response = RedirectResponse("/admin/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/admin")
    return response


@router.post("/handoffs/{handoff_id}/replay")
async def replay_one(request: Request, gw: GatewayDep, form: Actor, handoff_id: Id) -> Response:
    """Replay one dead letter from its timeline, then show the timeline again."""
    order_id = form.get("order_id")
    outcome = await _replay(request, gw, DeadLetterFilter(handoff_ids=(handoff_id,)), form)
    notice = "replayed" if outcome.replayed else "not_dead"
    where = f"/admin/orders/{quote(order_id, safe='')}/handoffs/{quote(handoff_id, safe='')}"
    return RedirectResponse(f"{where}?notice={notice}", 303)


@router.post("/replay/preview")
async def replay_preview(request: Request, gw: GatewayDep, form: Actor) -> Response:
    """The dry run: how many dead letters the chosen agency and window would replay."""
    chosen = _chosen(gw, form)
    count = await gw.store.read(lambda uow: replay.count_dead(uow, chosen.dead_letters()))
    return replay_page(request, gw.directory, chosen, count=count)


@router.post("/replay")
async def replay_bulk(request: Request, gw: GatewayDep, form: Actor) -> Response:
    """Replay the chosen dead letters in batches (cancellable between batches)."""
    chosen = _chosen(gw, form)
    which = chosen.dead_letters()
    replay.require_bounds(which)
    outcome = await _replay(request, gw, which, form)
    return replay_page(request, gw.directory, chosen, outcome=outcome)


@router.post("/replay/cancel")
async def replay_cancel(request: Request, _form: Actor) -> Response:
    """Stop every replay under way (console or API) after its current batch."""
    running = running_replays(request)
    for flag in list(running):
        flag.set()
    return page(request, "cancelled.html", cancelled=len(running))


@router.post("/agencies/{agency}/pause")
async def pause(gw: GatewayDep, form: Actor, agency: Id) -> Response:
    """Hold an agency's deliveries, with the reason given."""
    reason = form.get("reason") or "paused from the console"
    if len(reason) > 500:
        raise InputError("the reason is longer than 500 characters")
    now = gw.dispatcher.clock()
    by = form.session.name
    await gw.store.write(lambda uow: pausing.pause(uow, gw.directory, agency, by, reason, now))
    return RedirectResponse("/admin/agencies?notice=paused", 303)


@router.post("/agencies/{agency}/resume")
async def resume(gw: GatewayDep, form: Actor, agency: Id) -> Response:
    """Deliver to the agency again; its waiting handoffs go out on the next claim."""
    now = gw.dispatcher.clock()
    by = form.session.name
    await gw.store.write(lambda uow: pausing.resume(uow, gw.directory, agency, by, now))
    gw.dispatcher.wake_all()
    return RedirectResponse("/admin/agencies?notice=resumed", 303)


async def _replay(
    request: Request, gw: Gateway, which: DeadLetterFilter, form: Form
) -> replay.ReplayProgress:
    """Run a replay as the form's sender, cancellable through the app's shared flags."""
    cancel = threading.Event()
    running = running_replays(request)
    running.add(cancel)
    try:
        return await replay.replay(
            gw.store,
            which,
            by=form.session.name,
            clock=gw.dispatcher.clock,
            cancel=cancel,
            progress=lambda _state: gw.dispatcher.wake_all(),
        )
    finally:
        running.discard(cancel)


def _chosen(gw: Gateway, form: Form) -> Selection:
    return selection(
        gw.directory, agency=form.get("agency"), since=form.get("since"), until=form.get("until")
    )


def running_replays(request: Request) -> set[threading.Event]:
    """The cancel flags of the replays running in this app, shared with the JSON API's."""
    state = request.app.state
    if not hasattr(state, "replays"):
        state.replays = set()
    return state.replays  # type: ignore[no-any-return]
