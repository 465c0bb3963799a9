"""Progress of bulk CLI work (replay, purge): a bar redrawn in place when stderr is a
terminal, one plain line per batch otherwise (logs and pipes get no control characters).

Tiny on purpose: the work reports once per batch, so no throttling or threads are needed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 24
CLEAR_TO_END = "\x1b[K"


def bar_line(done: int, total: int | None, batches: int, seconds: float, verb: str = "done") -> str:
    """`[#######---------]  800/1,000  80%  batch 2  727/s  1.1 s`; without a total, no bar:
    `800 orders purged  batch 2  727/s  1.1 s`."""
    tail = f"batch {batches}  {_rate(done, seconds)}  {seconds:.1f} s"
    if not total:
        return f"{done:,} {verb}  {tail}"
    share = min(done / total, 1.0)
    filled = round(share * BAR_WIDTH)
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    return f"[{bar}]  {done:,}/{total:,}  {share * 100:.0f}%  {tail}"


def plain_line(done: int, total: int | None, batches: int, seconds: float, verb: str) -> str:
    """`batch 2: 800 replayed (800/1000, 727/s, 1.1 s)`: one line per batch, for logs."""
    count = f"{done}/{total}, " if total else ""
    return f"batch {batches}: {done} {verb} ({count}{_rate(done, seconds)}, {seconds:.1f} s)"


class Progress:
    """Shows bulk work's progress: call `update` after each batch and `close` at the end."""

    def __init__(
        self,
        total: int | None,
        verb: str,
        *,
        bar_to: TextIO | None = None,
        lines_to: TextIO | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.total, self.verb, self.clock = total, verb, clock
        self.bar_to = bar_to or sys.stderr
        self.lines_to = lines_to or sys.stdout
        self.as_bar = self.bar_to.isatty()
        self.started = clock()
        self._drawn = False

    def update(self, done: int, batches: int) -> None:
        """Redraw the bar, or print a line, for `done` items after `batches` batches."""
        seconds = self.clock() - self.started
        if self.as_bar:
            line = bar_line(done, self.total, batches, seconds, self.verb)
            self.bar_to.write(f"\r{line}{CLEAR_TO_END}")
            self.bar_to.flush()
            self._drawn = True
        else:
            print(plain_line(done, self.total, batches, seconds, self.verb), file=self.lines_to)
            self.lines_to.flush()

    def close(self) -> None:
        """End the bar's line so what follows starts on a fresh one."""
        if self._drawn:
            self.bar_to.write("\n")
            self.bar_to.flush()
            self._drawn = False


def _rate(done: int, seconds: float) -> str:
    return f"{done / seconds:,.0f}/s" if seconds > 0 else "-/s"
