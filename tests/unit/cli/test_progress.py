"""The progress renderer of bulk CLI work: a bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

import io
from collections.abc import Iterator

from gateway.cli.progress import CLEAR_TO_END, Progress, bar_line, plain_line


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def ticking(*times: float) -> Iterator[float]:
    """A clock that reads `times` in turn."""
    yield from times


def test_the_bar_shows_count_of_total_share_batch_rate_and_time() -> None:
    line = bar_line(800, 1000, 2, 1.1)
    assert line == f"[{'#' * 19}{'-' * 5}]  800/1,000  80%  batch 2  727/s  1.1 s"


def test_the_bar_is_full_and_never_overflows_when_done_exceeds_total() -> None:
    assert bar_line(12, 10, 1, 1.0).startswith(f"[{'#' * 24}]  12/10  100%")


def test_without_a_total_the_bar_shows_the_count_alone() -> None:
    assert bar_line(1500, None, 3, 2.0, "orders purged") == (
        "1,500 orders purged  batch 3  750/s  2.0 s"
    )


def test_no_time_elapsed_gives_no_rate_rather_than_a_division_error() -> None:
    assert "-/s" in bar_line(5, 10, 1, 0.0) and "-/s" in plain_line(5, 10, 1, 0.0, "replayed")


def test_a_plain_line_starts_with_the_batch_and_the_count() -> None:
    assert plain_line(16, 20, 2, 0.5, "replayed") == "batch 2: 16 replayed (16/20, 32/s, 0.5 s)"
    assert plain_line(3, None, 1, 1.0, "orders purged") == "batch 1: 3 orders purged (3/s, 1.0 s)"


def test_on_a_terminal_the_bar_is_redrawn_in_place_and_ended_with_a_newline() -> None:
    err, out = Terminal(), io.StringIO()
    clock = ticking(0.0, 1.0, 2.0)
    shown = Progress(4, "replayed", bar_to=err, lines_to=out, clock=lambda: next(clock))
    shown.update(2, 1)
    shown.update(4, 2)
    shown.close()
    assert out.getvalue() == ""
    frames = err.getvalue().split("\r")
    assert frames[0] == "" and len(frames) == 3
    assert frames[1] == bar_line(2, 4, 1, 1.0) + CLEAR_TO_END
    assert frames[2] == bar_line(4, 4, 2, 2.0) + CLEAR_TO_END + "\n"


def test_off_a_terminal_each_batch_prints_a_plain_line_and_no_control_characters() -> None:
    err, out = io.StringIO(), io.StringIO()
    clock = ticking(0.0, 0.5, 1.0)
    shown = Progress(4, "replayed", bar_to=err, lines_to=out, clock=lambda: next(clock))
    shown.update(2, 1)
    shown.update(4, 2)
    shown.close()
    assert err.getvalue() == ""
    assert out.getvalue().splitlines() == [
        "batch 1: 2 replayed (2/4, 4/s, 0.5 s)",
        "batch 2: 4 replayed (4/4, 4/s, 1.0 s)",
    ]
