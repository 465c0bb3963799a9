"""The benchmark's arithmetic: percentiles, the table, reading py-spy's collapsed stacks."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.profile import top_costs
from bench.stats import Row, percentile, ratio, table


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0


def test_percentile_of_nothing_is_nan() -> None:
    assert math.isnan(percentile([], 99))


def test_ratio_is_a_percentage_and_a_missing_ceiling_is_a_dash() -> None:
    assert ratio(250, 1000) == "25.0%"
    assert ratio(1, 0) == "-"


def test_table_aligns_every_row_under_its_header() -> None:
    text = table([Row("e2e", "sqlite", "900/s", "1800/s", "50.0%", "note")])
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert lines[2].startswith("| e2e ")


def test_top_costs_counts_a_frame_once_per_stack_inclusive_and_the_leaf_as_self(
    tmp_path: Path,
) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_text("main;work;hash 3\nmain;work;work 1\nmain;idle 4\n")
    inclusive, own = top_costs(raw)
    assert dict(inclusive)["work"] == 0.5  # 4 of 8 samples, the recursive one counted once
    assert dict(own)["idle"] == 0.5
    assert dict(own)["hash"] == 3 / 8


def test_an_unknown_store_is_refused_before_anything_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--store", "sqlite,mysql"]) == 2
    assert "unknown store(s): mysql" in capsys.readouterr().err


def test_an_e2e_row_shows_its_rate_against_the_reference_and_cpu_per_order() -> None:
    from bench.run import _throughput_row
    from bench.suites import Throughput

    ceiling = Throughput(rate=5000.0, intake_rate=5000.0, generator_cpu=0.5)
    reference = Throughput(rate=1000.0, intake_rate=1200.0, generator_cpu=0.1, server_cpu=0.6)
    lianxin = Throughput(rate=250.0, intake_rate=400.0, generator_cpu=0.05, server_cpu=0.9)
    row = _throughput_row("e2e durable handoffs", "sqlite", lianxin, ceiling, reference)
    assert row.reference == "0.25x"
    assert row.cpu_ms == "3.60"  # 0.9 s of CPU per second / 250 orders per second
    assert _throughput_row("ref", "sqlite", reference, ceiling).cpu_ms == "0.60"
    assert "| vs reference | CPU ms/order |" in table([row])
