"""The sidecarlint benchmark: every figure as a ratio to a floor measured in the same run.

    python benchmarks/run.py [--files 2000] [--large 20000] [--runs 5] [--work DIR]

- throughput: `sidecarlint check DIR --format json -o FILE --jobs 1` (all rules) against the
  raw floor, one Python process that reads every file and runs
  `yaml.compose_all(..., Loader=yaml.CSafeLoader)`; ratio = floor time / sidecarlint time;
- scaling: the same with `--jobs 2`, as a speed-up over `--jobs 1`, and whether the two
  outputs are byte-identical;
- start-up: `sidecarlint check one-file.yaml` against `python -c "import yaml, click, jmespath"`;
- memory: peak RSS of `--jobs 1` on the small and the large corpus;
- pathological inputs (pathological.py): seconds per MB of each, past the one-file
  start-up, as a multiple of the normal corpus's seconds per MB (goal: at most 10x).

Times are wall clock of whole processes over --runs rounds, the commands compared run back
to back in each round; a ratio is the median of the ratios of each round, the times shown
are medians. Nothing here is a test.
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
from pathological import write_pathological

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


def timed(commands: list[list[str]], runs: int) -> list[list[float]]:
    """Wall times of each command over `runs` rounds, the commands interleaved round by
    round, so that a noisy neighbour slows them alike."""
    for command in commands:
        wall(command)  # warm the page cache and the bytecode cache
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for index, command in enumerate(commands):
            times[index].append(wall(command))
    return times


def ratio(numerators: list[float], denominators: list[float]) -> float:
    """The median of the ratios of runs made in the same round: each pair ran back to back,
    under the same load, which a ratio of two medians does not ensure."""
    return statistics.median(a / b for a, b in zip(numerators, denominators, strict=True))


def peak_mib(command: list[str]) -> float:
    out = subprocess.run([sys.executable, "-c", MEMORY, *command], capture_output=True, text=True)
    return int(out.stdout.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--large", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", help="where to write the corpora (default: a temp folder)")
    parser.add_argument("--no-pathological", action="store_true", help="skip those inputs")
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

    floor, single, double = timed(
        [
            [sys.executable, "-c", FLOOR, small],
            [*check, "-o", out1, "--jobs", "1"],
            [*check, "-o", out2, "--jobs", "2"],
        ],
        args.runs,
    )
    with open(out1, "rb") as a, open(out2, "rb") as b:
        identical = a.read() == b.read()
    imports, one_file = timed(
        [[sys.executable, "-c", "import yaml, click, jmespath"], [*lint, "check", one]],
        args.runs * 3,
    )
    mem_small = peak_mib([*check, "-o", os.devnull, "--jobs", "1"])
    mem_large = peak_mib(
        [*lint, "check", large, "--format", "json", "-o", os.devnull, "--jobs", "1"]
    )
    median = statistics.median

    rows = [
        (
            "throughput, --jobs 1 vs compose_all floor",
            f"{ratio(floor, single):.2f}x",
            f"floor {median(floor):.2f}s, sidecarlint {median(single):.2f}s",
            ">= 0.75x",
        ),
        (
            "scaling, --jobs 2 vs --jobs 1",
            f"{ratio(single, double):.2f}x",
            f"{median(double):.2f}s; output identical: {identical}",
            ">= 1.7x on 2 cores",
        ),
        (
            "one file vs import yaml, click, jmespath",
            f"{ratio(one_file, imports):.2f}x",
            f"{median(one_file) * 1000:.0f} ms vs {median(imports) * 1000:.0f} ms",
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
        f"sidecarlint benchmark: {args.files} and {args.large} generated files, medians of "
        f"{args.runs} rounds, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    width = max(len(r[0]) for r in rows)
    for name, figure, detail, target in rows:
        print(f"  {name:<{width}}  {figure:>6}  ({detail}; target {target})")
    if args.no_pathological:
        return
    start_up = median(one_file)
    corpus_mb = _megabytes(small)
    normal = (median(single) - start_up) / corpus_mb
    print(f"pathological inputs, seconds per MB past start-up (normal corpus {normal:.3f} s/MB):")
    paths = write_pathological(os.path.join(work, "pathological"))
    for name, path in paths.items():
        [times] = timed([[*lint, "check", path, "--format", "json", "-o", os.devnull]], 3)
        per_mb = max(median(times) - start_up, 0.0) / _megabytes(path)
        print(
            f"  {name:<{width}}  {per_mb / normal:5.2f}x  "
            f"({per_mb:.3f} s/MB, {_megabytes(path):.1f} MB; target <= 10x)"
        )


def _megabytes(path: str) -> float:
    if os.path.isfile(path):
        return os.path.getsize(path) / 1e6
    total = 0
    for folder, _, names in os.walk(path):
        total += sum(os.path.getsize(os.path.join(folder, n)) for n in names)
    return total / 1e6


if __name__ == "__main__":
    main()
