"""Wait for the database at start-up: a bounded in-process retry (tenacity).

In production the gateway and PostgreSQL often start together (compose, systemd, a
Kubernetes pod): the first connection can be refused for a few seconds while the
database starts. `wait_for_database` tries to connect until it succeeds or `wait`
seconds have passed, then stops with a `ConfigError` that names the database and the
last error. Retries of hours and days (deliveries) are the outbox's stored schedule,
never this.
"""

from __future__ import annotations

import logging

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_delay,
    wait_exponential,
)

from gateway.domain.errors import ConfigError
from gateway.store.sql import normalise_url

log = logging.getLogger("lianxin.store")
FIRST_WAIT = 0.2  # seconds before the second try; doubles up to MAX_WAIT
MAX_WAIT = 2.0
CONNECT_TIMEOUT = 5  # seconds per try: a dropped SYN must not eat the whole wait
STARTING_UP = "57P03"  # PostgreSQL's cannot_connect_now: "the database system is starting up"
STILL_STARTING = ("is starting up", "is not yet accepting connections", "in recovery mode")


def wait_for_database(url: str, wait: float) -> None:
    """Connect to `url`, retrying while it is not reachable yet, for up to `wait` seconds.

    Errors the server itself answers with (wrong password, no such database) stop at once.
    """
    retrying = Retrying(
        retry=retry_if_exception(_not_yet_reachable),
        stop=stop_after_delay(wait),
        wait=wait_exponential(multiplier=FIRST_WAIT, max=MAX_WAIT),
        before_sleep=_log_retry,
    )
    try:
        retrying(_connect_once, url)
    except RetryError as exc:
        last = exc.last_attempt.exception()
        raise ConfigError(
            f"database {_safe(url)} not reachable after {wait:g} s "
            f"(LIANXIN_DATABASE_WAIT): {_first_line(last)}"
        ) from last
    except OperationalError as exc:  # the server answered: waiting would not change it
        raise ConfigError(f"database {_safe(url)} refused: {_first_line(exc)}") from exc


def _not_yet_reachable(error: BaseException) -> bool:
    """Refused, timed out or still starting: worth another try. A server that answers with
    an error of its own (wrong password, no such database) is not."""
    if not isinstance(error, OperationalError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate is not None:
        return bool(sqlstate == STARTING_UP)
    # psycopg sets no sqlstate on a failed connect; the server's own refusal is its FATAL
    text = str(error.orig)
    return "FATAL:" not in text or any(cause in text for cause in STILL_STARTING)


def _connect_once(url: str) -> None:
    url = normalise_url(url)
    args = {} if url.startswith("sqlite") else {"connect_timeout": CONNECT_TIMEOUT}
    engine = create_engine(url, connect_args=args)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("database not reachable yet (try %d): %s", state.attempt_number, _first_line(error))


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _first_line(error: BaseException | None) -> str:
    return str(error).strip().splitlines()[0] if error else "no error recorded"
