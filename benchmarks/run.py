"""The sidecarlint benchmark: every figure as a ratio to a floor measured in the same run.

    python benchmarks/run.py [--files 2000] [--large 20000] [--runs 5] [--work DIR]

- throughput: `sidecarlint check DIR --format json -o FILE --jobs 1` (all rules) against the
  raw floor, one Python process that reads every file and runs
  `yaml.compose_all(..., Loader=yaml.CSafeLoader)`; ratio = floor time / sidecarlint time;
- scaling: the same with `--jobs 2`, as a speed-up over `--jobs 1`, and whether the two
  outputs are byte-identical;
- start-up: `sidecarlint check one-file.yaml` against `python -c "import yaml, click, jmespath"`;
- memory: peak RSS of `--jobs 1` on the small and the large corpus.

Times are medians of --runs runs of whole processes (wall clock), the commands compared
interleaved run by run so that machine noise hits them alike. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate import generate

FLOOR = """
import os, sys, yaml
for folder, _, names in os.walk(sys.argv[1]):
    for name in names:
        with open(os.path.join(folder, name), "rb") as handle:
            for _ in yaml.compose_all(handle.read(), Loader=yaml.CSafeLoader):
                pass
"""
MEMORY = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def sidecarlint_command() -> list[str]:
    script = os.path.join(os.path.dirname(sys.executable), "sidecarlint")
    if os.path.exists(script):
        return [script]
    found = shutil.which("sidecarlint")
    return [found] if found else [sys.executable, "-m", "sidecarlint"]


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def medians(commands: list[list[str]], runs: int) -> list[float]:
    """Median wall time of each command, the commands interleaved run by run, so that a
    noisy neighbour slows them alike and the ratios stay fair."""
    for command in commands:
        wall(command)  # warm the page cache and the bytecode cache
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for index, command in enumerate(commands):
            times[index].append(wall(command))
    return [statistics.median(t) for t in times]


def peak_mib(command: list[str]) -> float:
    out = subprocess.run([sys.executable, "-c", MEMORY, *command], capture_output=True, text=True)
    return int(out.stdout.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--large", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", help="where to write the corpora (default: a temp folder)")
    args = parser.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="sidecarlint-bench-")
    small = os.path.join(work, f"corpus-{args.files}")
    large = os.path.join(work, f"corpus-{args.large}")
    for folder, count in ((small, args.files), (large, args.large)):
        if not os.path.isdir(folder):
            generate(folder, count)
    lint = sidecarlint_command()
    one = os.path.join(small, "000", "app-00000.yaml")
    out1, out2 = os.path.join(work, "jobs1.json"), os.path.join(work, "jobs2.json")
    check = [*lint, "check", small, "--format", "json"]

    floor, single, double = medians(
        [
            [sys.executable, "-c", FLOOR, small],
            [*check, "-o", out1, "--jobs", "1"],
            [*check, "-o", out2, "--jobs", "2"],
        ],
        args.runs,
    )
    with open(out1, "rb") as a, open(out2, "rb") as b:
        identical = a.read() == b.read()
    imports, one_file = medians(
        [[sys.executable, "-c", "import yaml, click, jmespath"], [*lint, "check", one]],
        args.runs * 3,
    )
    mem_small = peak_mib([*check, "-o", os.devnull, "--jobs", "1"])
    mem_large = peak_mib(
        [*lint, "check", large, "--format", "json", "-o", os.devnull, "--jobs", "1"]
    )

    rows = [
        (
            "throughput, --jobs 1 vs compose_all floor",
            f"{floor / single:.2f}x",
            f"floor {floor:.2f}s, sidecarlint {single:.2f}s",
            ">= 0.75x",
        ),
        (
            "scaling, --jobs 2 vs --jobs 1",
            f"{single / double:.2f}x",
            f"{double:.2f}s; output identical: {identical}",
            ">= 1.7x on 2 cores",
        ),
        (
            "one file vs import yaml, click, jmespath",
            f"{one_file / imports:.2f}x",
            f"{one_file * 1000:.0f} ms vs {imports * 1000:.0f} ms",
            "<= 1.25x",
        ),
        (
            f"peak memory, {args.large} vs {args.files} files",
            f"{mem_large / mem_small:.2f}x",
            f"{mem_large:.1f} MiB vs {mem_small:.1f} MiB",
            "<= 1.5x, large < 60 MiB",
        ),
    ]
    print(
        f"sidecarlint benchmark: {args.files} and {args.large} generated files, median of "
        f"{args.runs} runs, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    width = max(len(r[0]) for r in rows)
    for name, ratio, detail, target in rows:
        print(f"  {name:<{width}}  {ratio:>6}  ({detail}; target {target})")


if __name__ == "__main__":
    main()
