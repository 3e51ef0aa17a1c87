"""Two installs of sidecarlint against each other, in the same run, on the same corpus.

    python benchmarks/compare.py OLD_SIDECARLINT NEW_SIDECARLINT [--files 2000] [--runs 21]

OLD_SIDECARLINT and NEW_SIDECARLINT are `sidecarlint` executables of two virtualenvs (for
example a release installed with `pip install git+...@<commit>`, and `pip install .`). For
each: `check DIR --format json --jobs 1` as a ratio to the raw-parse floor (the same floor as
run.py, the commands interleaved round by round, the older first on odd rounds), the start-up
of a one-file run, and the peak memory on a corpus of 10x the files. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate import generate
from run import FLOOR, peak_mib, ratio, wall

SERIAL_JSON = ("--format", "json", "--jobs", "1")  # one process, the report thrown away


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--work", help="where to write the corpora (default: a temp folder)")
    args = parser.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="sidecarlint-compare-")
    small = os.path.join(work, f"corpus-{args.files}")
    large = os.path.join(work, f"corpus-{args.files * 10}")
    for folder, count in ((small, args.files), (large, args.files * 10)):
        if not os.path.isdir(folder):
            generate(folder, count)
    one = os.path.join(small, "000", "app-00000.yaml")
    names = ("old", "new")
    check = {
        name: [exe, "check", small, "--format", "json", "-o", os.devnull, "--jobs", "1"]
        for name, exe in zip(names, (args.old, args.new), strict=True)
    }
    floor: list[float] = []
    times: dict[str, list[float]] = {name: [] for name in names}
    starts: dict[str, list[float]] = {name: [] for name in names}
    for command in (*check.values(), [sys.executable, "-c", FLOOR, small]):
        wall(command)  # warm the page cache and the bytecode caches
    for round_ in range(args.runs):
        floor.append(wall([sys.executable, "-c", FLOOR, small]))
        for name in names if round_ % 2 else names[::-1]:
            times[name].append(wall(check[name]))
            starts[name].append(wall([check[name][0], "check", one]))
    print(f"{args.runs} rounds, {args.files} files; floor {statistics.median(floor):.2f}s")
    for name in names:
        memory = tuple(
            peak_mib([check[name][0], "check", corpus, "-o", os.devnull, *SERIAL_JSON])
            for corpus in (small, large)
        )
        print(
            f"  {name}: throughput {ratio(floor, times[name]):.2f}x the floor "
            f"({statistics.median(times[name]):.2f}s), one file "
            f"{statistics.median(starts[name]) * 1000:.1f} ms, peak memory "
            f"{memory[0]:.1f} MiB -> {memory[1]:.1f} MiB ({memory[1] / memory[0]:.2f}x)"
        )


if __name__ == "__main__":
    main()
