"""Log set-up for `lianxin serve`: one JSON object per line (or plain text), with the
order, handoff and agency ids the code was working on, and the trace it was part of.

JSON lines come from python-json-logger. Personal data stays masked: records are masked
as they are made (`gateway.observability.log_masking`), and the JSON formatter masks every string it
writes once more, exception text and `extra=` fields included.
"""

from __future__ import annotations

import logging
from typing import IO, Any, Literal

from opentelemetry import trace
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from gateway.domain.personal import mask_strings
from gateway.observability.log_masking import install_log_masking
from gateway.service.log_context import current

LogFormat = Literal["json", "text"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s%(context)s"


class ContextFilter(logging.Filter):
    """Copies the bound ids (and the current trace and span, if any) onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = dict(current())
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            ids["trace_id"] = trace.format_trace_id(span.trace_id)
            ids["span_id"] = trace.format_span_id(span.span_id)
        for name, value in ids.items():
            setattr(record, name, value)
        record.context = "".join(f" {name}={value}" for name, value in ids.items())
        return True


class MaskedJsonFormatter(JsonFormatter):
    """python-json-logger's formatter with every string value masked."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            json_ensure_ascii=False,  # Chinese text stays readable
            reserved_attrs=[*RESERVED_ATTRS, "taskName", "context"],
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        """Mask phone and ID numbers in every string the line carries."""
        masked: dict[str, Any] = mask_strings(log_data)
        return masked


def configure_logging(level: str, log_format: LogFormat, stream: IO[str] | None = None) -> None:
    """Send every log record to `stream` (stderr) as JSON lines or text, masked, with
    context; replaces handlers set up before."""
    install_log_masking()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    formatter = MaskedJsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # Python warnings become records too, not stray text
