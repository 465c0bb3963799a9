"""The browser admin console at /admin: failed deliveries, timelines, replay, pause, audit.

Server-rendered pages (Jinja2, autoescape on) over the same services as the JSON operations
API; a little JavaScript only keeps the page usable while a bulk replay runs.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from gateway.api.console import actions, pages
from gateway.api.console.render import HERE
from gateway.api.console.session import SessionKeys

log = logging.getLogger("lianxin.console")


def install(app: FastAPI, session_key: bytes | None = None) -> None:
    """Mount the console's pages, actions and static files on `app` (a random session key
    unless one is given: then sessions outlive restarts and are shared by processes)."""
    if session_key is None:
        log.warning(
            "LIANXIN_CONSOLE_SESSION_KEY is not set: console sessions end at a restart "
            "and are not shared with other processes"
        )
    app.state.console_keys = SessionKeys(session_key)
    app.include_router(pages.router)
    app.include_router(actions.router)
    app.mount("/admin/static", StaticFiles(directory=HERE / "static"), name="console-static")
