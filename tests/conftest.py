"""Shared helpers: run the real CLI in-process and read its JSON."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from sidecarlint.cli import main

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("SIDECARLINT_CORPUS", ROOT.parent / "shared" / "corpus"))
EXPECT = re.compile(r"#\s*expect:\s*([a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)")
RUN_WITH = re.compile(r"^#\s*run with:\s*(.+)$", re.M)


def run_cli(
    *args: str, input: bytes | str | None = None, cwd: str | os.PathLike | None = None
) -> tuple[int, str, str]:
    """Run the CLI in this process; `cwd`: from that folder, as a user would."""
    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    finally:
        os.chdir(old)
    return result.exit_code, result.stdout, result.stderr


def lint_json(*args: str, input: bytes | str | None = None) -> tuple[int, list[dict]]:
    """Run `sidecarlint check --format json ARGS` and return (exit code, findings)."""
    code, out, err = run_cli("check", "--format", "json", *args, input=input)
    assert "Traceback" not in out + err
    return code, json.loads(out)["findings"]


def expected_lines(path: Path, rule_id: str) -> list[int]:
    lines = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = EXPECT.search(line)
        if match and rule_id in [r.strip() for r in match.group(1).split(",")]:
            lines.append(number)
    return lines


def run_with_args(text: str) -> list[str]:
    """Extra CLI options a fixture or docs example asks for: `# run with: --kube-version 1.28`."""
    match = RUN_WITH.search(text)
    return match.group(1).split() if match else []


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is not at {CORPUS} (set SIDECARLINT_CORPUS)")
    return CORPUS


# Property-based tests run with a fixed seed and a bounded number of examples, in CI and here.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "fixed",
    derandomize=True,
    max_examples=int(os.environ.get("SIDECARLINT_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("fixed")
