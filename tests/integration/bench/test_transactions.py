"""`bench.transactions`: each way of beginning a store transaction, measured for real."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from bench.transactions import measure, one_transaction, ways
from gateway.store.migrate import upgrade

pytestmark = pytest.mark.both_databases


def test_each_way_commits_a_transaction_of_its_own(database_url: str) -> None:
    upgrade(database_url)
    for name, (engine, begin) in ways(database_url).items():
        commits: list[object] = []
        event.listen(engine, "commit", commits.append)
        one_transaction(begin)
        one_transaction(begin)
        engine.dispose()
        assert len(commits) == 2, name


def test_every_way_gets_a_figure_for_each_round(database_url: str) -> None:
    upgrade(database_url)
    figures = measure(database_url, transactions=3, rounds=2)
    expected = {"pooled", "held"}
    if database_url.startswith("sqlite"):
        expected |= {"pooled + sqlalchemy begin", "held + sqlalchemy begin"}
    assert set(figures) == expected
    assert all(len(rounds) == 2 and min(rounds) > 0 for rounds in figures.values())
