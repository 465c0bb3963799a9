"""Mask phone and ID numbers in every log record, whoever logs it.

`PersonalDataFilter` rewrites a record's message (arguments merged in) and its exception
and stack text with `mask_text`. `install_log_masking()` runs it as each record is made
(through the record factory), so it covers every logger and every handler, including
those uvicorn and libraries add later; it is safe to call more than once. Called by the
composition root, `lianxin serve` and the demo.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from gateway.domain.personal import mask_text


class PersonalDataFilter(logging.Filter):
    """Masks phone and ID numbers in a record's text; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


_FILTER = PersonalDataFilter()


class _MaskingFactory:
    """A log record factory that passes each new record through the filter."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.inner(*args, **kwargs)
        _FILTER.filter(record)
        return record


def install_log_masking() -> None:
    """Mask personal data in every log record from now on (idempotent)."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _MaskingFactory):
        logging.setLogRecordFactory(_MaskingFactory(current))
