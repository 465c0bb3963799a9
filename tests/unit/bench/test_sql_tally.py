"""Reading statements and round trips out of what the drivers report."""

from __future__ import annotations

from collections import Counter

from bench.sql_tally import Tally, read_trace, verb_of

TRACE = """F	13	Query	 "select 1"
B	13	CommandComplete	 "SELECT 1"
B	5	ReadyForQuery	 T
F	27	Parse	 "_pg3_0" "insert into t values ($1)" 1 NNNN
F	9	Execute	 "" 0
F	9	Execute	 "" 0
F	4	Sync
B	15	CommandComplete	 "INSERT 0 1"
B	15	CommandComplete	 "INSERT 0 1"
B	5	ReadyForQuery	 T
F	11	Query	 "COMMIT"
B	11	CommandComplete	 "COMMIT"
B	5	ReadyForQuery	 I
"""


def test_a_trace_gives_statements_by_verb_and_one_round_trip_per_exchange() -> None:
    verbs, trips = read_trace(TRACE)
    assert verbs == Counter({"SELECT": 1, "INSERT": 2, "COMMIT": 1})
    assert trips == 3  # the pipelined pair of INSERTs went in one exchange


def test_verbs_of_sql_text() -> None:
    assert verb_of("  insert into t values (?)") == "INSERT"
    assert verb_of("WITH x AS (SELECT 1) SELECT * FROM x") == "SELECT"
    assert verb_of("-- TRIGGER audit_guard") == "TRIGGER"


def test_a_tally_groups_transaction_control_and_names_the_rest() -> None:
    tally = Tally(Counter({"INSERT": 3, "BEGIN": 1, "SAVEPOINT": 2, "COMMIT": 1, "SET": 4}))
    assert tally.commits == 1
    assert tally.statements == 11
    assert tally.by_group()["BEGIN/COMMIT/…"] == 4
    assert tally.by_group()["other"] == 4
    assert tally.others() == {"SET": 4}
