"""Log lines: one JSON object each, with the bound ids and the trace, personal data masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import format_span_id, format_trace_id

from gateway.observability.logs import configure_logging
from gateway.service.log_context import bind, current, log_context

log = logging.getLogger("lianxin.test")


@pytest.fixture
def restored_root() -> Iterator[None]:
    """configure_logging replaces the root's handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


@pytest.fixture
def json_lines(restored_root: None) -> io.StringIO:
    out = io.StringIO()
    configure_logging("INFO", "json", out)
    return out


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_each_record_is_one_json_object_with_time_level_logger_and_message(
    json_lines: io.StringIO,
) -> None:
    log.info("第一行\n第二行 %s", "续")
    (line,) = lines(json_lines)
    assert line["level"] == "INFO" and line["logger"] == "lianxin.test"
    assert line["message"] == "第一行\n第二行 续"
    assert line["time"].endswith("+00:00")


def test_a_line_carries_the_order_handoff_and_agency_ids_bound_around_it(
    json_lines: io.StringIO,
) -> None:
    with log_context(order_id="wo_1", handoff_id="msg_1", agency="tax-12366"):
        log.warning("delivery attempt 1 failed")
    log.warning("outside")
    inside, outside = lines(json_lines)
    assert (inside["order_id"], inside["handoff_id"], inside["agency"]) == (
        "wo_1",
        "msg_1",
        "tax-12366",
    )
    assert "order_id" not in outside and "agency" not in outside


def test_phone_and_id_numbers_are_masked_in_the_message_extras_and_traceback(
    json_lines: io.StringIO,
) -> None:
    try:
        raise ValueError("caller 13812345678 said so")
    except ValueError:
        log.exception("refused 44010619900101123X", extra={"caller": {"phone": "13900001111"}})
    text = json_lines.getvalue()
    for number in ("13812345678", "44010619900101123X", "13900001111"):
        assert number not in text
    (line,) = lines(json_lines)
    assert "ValueError: caller 138****5678 said so" in line["exc_info"]
    assert line["caller"] == {"phone": "139****1111"}


def test_a_line_logged_inside_a_span_names_its_trace_and_span(json_lines: io.StringIO) -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("attempt") as span:
        log.info("in a span")
    (line,) = lines(json_lines)
    assert line["trace_id"] == format_trace_id(span.get_span_context().trace_id)
    assert line["span_id"] == format_span_id(span.get_span_context().span_id)


def test_text_lines_carry_the_ids_after_the_message(restored_root: None) -> None:
    out = io.StringIO()
    configure_logging("INFO", "text", out)
    with log_context(order_id="wo_2", agency="police-110"):
        log.info("delivered to 13812345678")
    assert (
        out.getvalue()
        .rstrip()
        .endswith("INFO lianxin.test delivered to 138****5678 order_id=wo_2 agency=police-110")
    )


def test_the_level_setting_drops_lower_records(restored_root: None) -> None:
    out = io.StringIO()
    configure_logging("warning", "json", out)
    log.info("dropped")
    log.warning("kept")
    assert [line["message"] for line in lines(out)] == ["kept"]


def test_a_context_block_restores_what_was_bound_before_it() -> None:
    with log_context(order_id="wo_1"):
        with log_context(handoff_id="msg_1"):
            assert current() == {"order_id": "wo_1", "handoff_id": "msg_1"}
        assert current() == {"order_id": "wo_1"}
    assert current() == {}


def test_binding_an_unknown_field_is_refused() -> None:
    with pytest.raises(ValueError, match="not a log context field"):
        bind(orderid="wo_1")
