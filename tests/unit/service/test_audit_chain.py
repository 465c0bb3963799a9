from __future__ import annotations

from dataclasses import replace

from gateway.domain.audit import AuditRecord
from gateway.service.audit import GENESIS, entry_hash, hashed_fields, verify_chain


def chain(n: int) -> list[AuditRecord]:
    records, prev = [], GENESIS
    for seq in range(1, n + 1):
        draft = AuditRecord(
            seq,
            1_000 + seq,
            "sent",
            "wo_1",
            f"msg_{seq}",
            "tax",
            "d" * 64,
            None,
            '{"attempt":1}',
            prev,
            "",
        )
        digest = entry_hash(prev, seq, draft.at_us, hashed_fields(draft))
        records.append(replace(draft, entry_hash=digest))
        prev = digest
    return records


def head(records: list[AuditRecord]) -> tuple[int, str]:
    return records[-1].seq, records[-1].entry_hash


def test_an_untouched_chain_verifies() -> None:
    records = chain(5)
    assert verify_chain(records, head(records)).ok


def test_an_edited_entry_is_named() -> None:
    records = chain(5)
    records[2] = replace(records[2], detail='{"attempt":2}')
    report = verify_chain(records, head(records))
    assert (report.ok, report.seq, report.problem) == (False, 3, "content does not match its hash")


def test_a_deleted_entry_is_named() -> None:
    records = chain(5)
    original_head = head(records)
    del records[1]
    report = verify_chain(records, original_head)
    assert (report.ok, report.seq) == (False, 3) and "entry 2 is missing" in str(report.problem)


def test_swapped_entries_break_the_link() -> None:
    records = chain(5)
    a, b = records[1], records[2]
    records[1], records[2] = replace(b, seq=2), replace(a, seq=3)
    report = verify_chain(records, head(records))
    assert (report.ok, report.seq) == (False, 2)


def test_a_cut_tail_no_longer_matches_the_head() -> None:
    records = chain(5)
    report = verify_chain(records[:-1], head(records))
    assert not report.ok and "head records entry 5" in str(report.problem)
