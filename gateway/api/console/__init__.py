"""The browser admin console at /admin: failed deliveries, timelines, replay, pause, audit.

Server-rendered pages (Jinja2, autoescape on) over the same services as the JSON operations
API; a little JavaScript only keeps the page usable while a bulk replay runs.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from gateway.api.console import actions, pages
from gateway.api.console.render import HERE
from gateway.api.console.session import SessionKeys


def install(app: FastAPI) -> None:
    """Mount the console's pages, actions and static files on `app`, with a fresh session key."""
    app.state.console_keys = SessionKeys()
    app.include_router(pages.router)
    app.include_router(actions.router)
    app.mount("/admin/static", StaticFiles(directory=HERE / "static"), name="console-static")
