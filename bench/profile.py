"""Profile the gateway process with py-spy while the e2e benchmark runs.

py-spy samples the running `lianxin serve` from outside (no code change, no restart) and
writes collapsed stacks; `top_costs` turns them into the functions that hold the most
samples, inclusive (the function or anything it calls) and self (the function itself).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def py_spy(pid: int, output: Path, rate: int = 200, gil: bool = False) -> Iterator[None]:
    """Record `pid` with py-spy (idle threads excluded) until the block ends; with `gil`,
    only the thread holding the GIL (where a CPU-bound Python process spends its time)."""
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    args = [
        exe,
        "record",
        "--pid",
        str(pid),
        "--format",
        "raw",
        "--rate",
        str(rate),
        "--output",
        str(output),
        "--nonblocking",
        *(["--gil"] if gil else []),
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)


def top_costs(
    raw: Path, count: int = 20
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """(inclusive, self): the `count` frames holding most samples, as shares of all."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack:
            continue
        n = int(samples)
        frames = stack.split(";")
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    share = 1 / total if total else 0.0
    return (
        [(f, c * share) for f, c in inclusive.most_common(count)],
        [(f, c * share) for f, c in own.most_common(count)],
    )


def by_package(raw: Path) -> list[tuple[str, float]]:
    """Self samples grouped by the package of the leaf frame's file (sqlalchemy, gateway…)."""
    packages: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack:
            continue
        leaf = stack.split(";")[-1]
        where = leaf[leaf.rfind("(") + 1 :].split(":")[0]
        package = where.split("/")[0] if "/" in where else where
        packages[package] += int(samples)
        total += int(samples)
    return [(name, n / total) for name, n in packages.most_common(15)] if total else []


def print_costs(raw: Path, count: int = 25) -> None:
    """Print the top frames (inclusive and self) and self time by package."""
    print("self time by package")
    for package, share in by_package(raw):
        print(f"  {share:6.1%}  {package}")
    inclusive, own = top_costs(raw, count)
    print(f"profile {raw}: top inclusive")
    for frame, share in inclusive:
        print(f"  {share:6.1%}  {frame}")
    print("top self")
    for frame, share in own:
        print(f"  {share:6.1%}  {frame}")
