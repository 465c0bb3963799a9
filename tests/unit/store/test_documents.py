"""A stored order's text round-trips every value exactly, wide integers included."""

from __future__ import annotations

import json

from gateway.store.documents import document_text, read_document


def test_text_is_compact_utf8_and_reads_back_the_same_values() -> None:
    document = {"summary": "路灯不亮", "revision": 3, "caller": {"name": None}, "at": 1.5e-7}
    text = document_text(document)
    assert "路灯不亮" in text and ", " not in text
    assert read_document(text) == document


def test_an_integer_wider_than_64_bits_stays_exact() -> None:
    wide = 123456789012345678901234567890
    text = document_text({"n": wide})
    assert json.loads(text) == {"n": wide}
    assert read_document(text) == {"n": wide}  # orjson would read a float
