"""The benchmark's arithmetic: percentiles, the table, reading py-spy's collapsed stacks,
waiting for a count."""

from __future__ import annotations

import math
from collections import namedtuple
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.profile import top_costs
from bench.stats import Row, percentile, ratio, table
from bench.suites import machine_busy, wait_for


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


class _Clock:
    """Time that passes only when slept: polls timed without a real wait."""

    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_wait_for_times_the_end_of_a_short_run_closely() -> None:
    """A count that reaches its target 0.32 s in: the time returned is within a fine
    poll (5 ms) of that, not rounded up to the next 0.1 s poll (0.4 s)."""
    clock = _Clock()
    done = wait_for(lambda: int(clock.now * 1000), 320, 5, lambda: clock.now, clock.sleep)
    assert 0.32 <= done < 0.326


def test_wait_for_polls_slowly_while_the_end_is_far() -> None:
    clock, polls = _Clock(), []

    def count() -> int:
        polls.append(clock.now)
        return int(clock.now * 100)  # 100 a second: 1,000 takes 10 s

    wait_for(count, 1000, 60, lambda: clock.now, clock.sleep)
    assert len(polls) < 150  # 0.1 s polls for 9.75 s, then 5 ms ones for the last 0.25 s


def test_wait_for_gives_up_after_its_timeout() -> None:
    clock = _Clock()
    with pytest.raises(TimeoutError, match="only 3 of 10 after 2"):
        wait_for(lambda: 3, 10, 2, lambda: clock.now, clock.sleep)


def test_machine_busy_counts_idle_and_io_wait_as_free() -> None:
    times = namedtuple("times", "user system idle iowait")
    before, after = times(10, 5, 100, 1), times(40, 15, 150, 11)  # 100 s: 40 busy, 60 free
    assert machine_busy(before, after) == pytest.approx(0.4)
    assert machine_busy(before, before) == 0.0


def test_machine_busy_leaves_out_guest_time_which_user_time_holds_already() -> None:
    times = namedtuple("times", "user system idle iowait guest guest_nice")
    before, after = times(0, 0, 0, 0, 0, 0), times(40, 0, 60, 0, 30, 0)  # guest within user
    assert machine_busy(before, after) == pytest.approx(0.4)


def test_wait_for_times_closely_a_run_that_ends_before_the_first_slow_poll() -> None:
    clock = _Clock()
    done = wait_for(lambda: int(clock.now * 1000), 50, 5, lambda: clock.now, clock.sleep)
    assert 0.05 <= done < 0.056
