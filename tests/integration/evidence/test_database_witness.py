"""A second database as a witness: each checkpoint a row of an append-only table, read back
by `lianxin audit verify --witness URL`, which finds the rewrites as with a file witness."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from connectors.memory import MemoryConnector
from gateway.bootstrap import bootstrap
from gateway.domain.checkpoint import Checkpoint
from gateway.domain.errors import WitnessError
from gateway.witnessing.database import DatabaseWitness, read_witness_database
from gateway.witnessing.witnesses import read_witness_file
from tests.integration.evidence.test_witnessed_verify import REWRITES
from tests.integration.evidence.trail import (
    engine_for,
    every_agency,
    filled,
    run_orders,
    settings_for,
    verify,
)


def driver(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://")


@pytest.mark.slow
def test_the_gateway_writes_each_checkpoint_to_the_witness_database(
    sqlite_url: str, postgres_url: str, tmp_path: Path
) -> None:
    witness = driver(postgres_url)
    filled(sqlite_url, tmp_path / "witness.jsonl", witness_databases=[SecretStr(witness)])
    held = read_witness_database(witness)
    assert held == read_witness_file(tmp_path / "witness.jsonl")  # the file saw the same
    assert len(held) >= 5
    result = verify(sqlite_url, "--witness", witness)
    assert result.returncode == 0, result.stderr
    assert f"{len(held)} witnessed checkpoints" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("rewrite", list(REWRITES), ids=list(REWRITES))
def test_each_rewrite_is_found_against_a_witness_database(
    postgres_url: str, tmp_path: Path, rewrite: str
) -> None:
    witness = f"sqlite:///{tmp_path / 'witness.db'}"
    filled(driver(postgres_url), tmp_path / "w.jsonl", witness_databases=[SecretStr(witness)])
    engine = engine_for(postgres_url)
    with engine.begin() as conn:
        first_bad = REWRITES[rewrite](conn)
    engine.dispose()
    result = verify(postgres_url, "--witness", witness)
    assert result.returncode == 1, result.stdout
    assert f"does NOT match the witness at entry {first_bad}:" in result.stderr, result.stderr


@pytest.mark.parametrize(
    "change", ["UPDATE lianxin_witness SET line = 'x'", "DELETE FROM lianxin_witness"]
)
def test_the_witness_table_refuses_changes_and_deletions(
    database_url: str, tmp_path: Path, change: str
) -> None:
    witness = driver(database_url)
    filled(
        f"sqlite:///{tmp_path / 'main.db'}",
        tmp_path / "w.jsonl",
        orders=1,
        witness_databases=[SecretStr(witness)],
    )
    engine = create_engine(witness)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(change))
    engine.dispose()
    assert read_witness_database(witness)


def test_a_checkpoint_sent_again_is_kept_once_and_a_different_one_refused(
    sqlite_url: str, tmp_path: Path
) -> None:
    filled(sqlite_url, tmp_path / "w.jsonl", orders=1)
    first = read_witness_file(tmp_path / "w.jsonl")[0]
    witness = DatabaseWitness(f"sqlite:///{tmp_path / 'witness.db'}")
    asyncio.run(witness.record(first))
    asyncio.run(witness.record(first))  # after a crash before it was marked witnessed
    statement = dataclasses.replace(first.statement, at_us=first.statement.at_us + 1)
    forged = Checkpoint(statement, first.signature, first.public_key, None, "")
    with pytest.raises(WitnessError, match="already holds a different checkpoint 1"):
        asyncio.run(witness.record(forged))
    witness.close()
    assert read_witness_database(witness.url) == [first]


def test_closing_the_gateway_releases_the_witness_database_connections(
    sqlite_url: str, postgres_url: str, tmp_path: Path
) -> None:
    witness_url = driver(postgres_url)
    settings = settings_for(
        sqlite_url, tmp_path / "w.jsonl", witness_databases=[SecretStr(witness_url)]
    )

    async def run() -> DatabaseWitness:
        fakes = {name: MemoryConnector(name) for name in every_agency(settings)}
        gw = bootstrap(settings, connector_overrides=fakes)
        gw.start()
        await run_orders(gw, fakes, 1)
        [witness] = [w for w in gw.checkpointer.witnesses if isinstance(w, DatabaseWitness)]
        await gw.aclose()  # its closing checkpoint is witnessed: the witness has connected
        return witness

    witness = asyncio.run(run())
    assert witness._engine is not None  # it connected (for the closing checkpoint at least)
    assert witness._engine.pool.checkedin() == 0  # disposed: nothing left open on the witness
    assert read_witness_database(witness_url)  # the closing checkpoint reached it first
