"""The log filter: no phone or ID number reaches a log handler in clear."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from gateway.domain.workorder import Caller
from gateway.observability.log_masking import PersonalDataFilter, install_log_masking


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """A handler on a fresh logger, added after masking was installed."""
    install_log_masking()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    logger = logging.getLogger("test.masking")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield out
    logger.removeHandler(handler)


def test_numbers_in_the_message_and_its_arguments_are_masked(stream: io.StringIO) -> None:
    logging.getLogger("test.masking").info("caller %s id %s", "13812345678", "44010619900101123X")
    assert stream.getvalue().strip() == "caller 138****5678 id 440***********123X"


def test_numbers_in_an_exception_are_masked(stream: io.StringIO) -> None:
    try:
        Caller.model_validate({"phone": "13812345678", "id_number": "4401061990010112"})
        Caller.model_validate({"phone": "13812345678x"})
    except ValidationError:
        logging.getLogger("test.masking").exception("refused")
    assert "13812345678" not in stream.getvalue()
    assert "138****5678" in stream.getvalue()


def test_installing_twice_masks_once(stream: io.StringIO) -> None:
    install_log_masking()
    logging.getLogger("test.masking").info("13812345678")
    assert stream.getvalue().strip() == "138****5678"


def test_the_filter_never_drops_a_record() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "plain %d", (1,), None)
    assert PersonalDataFilter().filter(record) is True
    assert record.getMessage() == "plain 1"
