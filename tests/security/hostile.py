"""Running the real CLI on a hostile repository: in a subprocess, with a time and memory
bound, and its outputs collected in every format."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

MEMORY_LIMIT = 1024 * 1024 * 1024  # bytes of address space a run may take
TIME_LIMIT = 120  # seconds: a hang or a quadratic blow-up fails the test, not CI


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def sidecarlint(
    *args: str,
    cwd: Path,
    env: dict | None = None,
    stdin: bytes | None = None,
    timeout: float = TIME_LIMIT,
) -> subprocess.CompletedProcess:
    """`sidecarlint ARGS` in `cwd`, bounded in time and memory."""
    result = subprocess.run(
        [sys.executable, "-m", "sidecarlint", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        timeout=timeout,
        preexec_fn=_limit_memory,
    )
    assert b"Traceback" not in result.stderr, result.stderr.decode(errors="replace")
    return result


def every_format(path: str, cwd: Path, *extra: str) -> dict[str, str]:
    """The report in each output format; each is checked to parse."""
    outputs = {}
    for name in ("text", "json", "sarif", "github"):
        result = sidecarlint("check", path, "--format", name, *extra, cwd=cwd)
        assert result.returncode in (0, 1, 2), result.stderr
        outputs[name] = result.stdout.decode("utf-8")
        if name in ("json", "sarif"):
            json.loads(outputs[name])
    return outputs


def pod(name: str = "p") -> str:
    """A pod whose native Istio proxy has no startup probe: one finding, wherever it is."""
    return f"""\
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  initContainers:
    - {{name: istio-proxy, image: docker.io/istio/proxyv2:1.24.0, restartPolicy: Always}}
  containers: [{{name: app, image: example.com/app:1}}]
"""
