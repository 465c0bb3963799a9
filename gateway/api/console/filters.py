"""The console's selection of failed deliveries (agency, time window, error text), read from
a query string or a form; each bad value is refused with a typed 4xx error.

Times are entered as the browser's `datetime-local` value (no zone: read as China time,
UTC+8) or as ISO 8601 with a zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse

from gateway.api.console.render import CHINA, local_time, page
from gateway.domain.errors import InputError
from gateway.service.directory import Directory
from gateway.service.operations import replay
from gateway.service.ports.queries import DeadLetterFilter, FailureQuery

STATES = ("any", "dead", "retrying")
MAX_TEXT = 200


@dataclass(frozen=True)
class Selection:
    """What the admin asked for, as typed (for the form) and as epochs (for the store)."""

    agency: str | None = None
    since: float | None = None
    until: float | None = None
    error: str | None = None
    state: str = "any"

    def failures(self) -> FailureQuery:
        """The store query listing these failed deliveries."""
        return FailureQuery(self.state, self.agency, self.since, self.until, self.error)

    def dead_letters(self) -> DeadLetterFilter:
        """The dead letters a bulk replay of this selection takes (error text not used)."""
        return DeadLetterFilter(self.agency, self.since, self.until)

    def form_values(self) -> dict[str, str]:
        """The values to put back in the form fields."""
        return {
            "agency": self.agency or "",
            "since": local_time(self.since, seconds=False) if self.since else "",
            "until": local_time(self.until, seconds=False) if self.until else "",
            "error": self.error or "",
            "state": self.state,
        }

    def query_string(self, **more: str | int) -> str:
        """This selection (and `more`) as a query string, empty values left out."""
        values = {k: v for k, v in self.form_values().items() if v and v != "any"}
        return urlencode({**values, **{k: str(v) for k, v in more.items()}})


def parse_time(text: str | None, name: str) -> float | None:
    """An entered time as an epoch; None for an empty field."""
    if not text or not text.strip():
        return None
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InputError(f"'{name}' is not a time (e.g. 2026-11-27T08:00)", field=name) from exc
    return (at if at.tzinfo else at.replace(tzinfo=CHINA)).timestamp()


def selection(
    directory: Directory,
    *,
    agency: str | None = None,
    since: str | None = None,
    until: str | None = None,
    error: str | None = None,
    state: str | None = None,
) -> Selection:
    """A checked Selection: a known agency, a window that ends after it starts, a known state."""
    chosen = Selection(
        agency=(agency or "").strip() or None,
        since=parse_time(since, "since"),
        until=parse_time(until, "until"),
        error=_text(error),
        state=(state or "any").strip() or "any",
    )
    if chosen.state not in STATES:
        raise InputError(f"state must be one of {', '.join(STATES)}", state=chosen.state)
    replay.checked(directory, chosen.dead_letters())  # unknown agency, window backwards
    return chosen


def _text(value: str | None) -> str | None:
    text = (value or "").strip()
    if len(text) > MAX_TEXT:
        raise InputError(f"the error text to look for is longer than {MAX_TEXT} characters")
    return text or None


def agency_names(directory: Directory) -> dict[str, str]:
    """Every profile's id and display name, by id (for the agency choosers)."""
    return {name: profile.name for name, profile in sorted(directory.profiles.items())}


def replay_page(
    request: Request,
    directory: Directory,
    chosen: Selection,
    *,
    count: int | None = None,
    outcome: replay.ReplayProgress | None = None,
) -> HTMLResponse:
    """The bulk replay page: the form as chosen, and a dry-run count or an outcome."""
    return page(
        request,
        "replay.html",
        form=chosen.form_values(),
        agencies=agency_names(directory),
        count=count,
        outcome=outcome,
    )
