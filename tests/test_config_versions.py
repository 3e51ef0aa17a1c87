"""Versions mean what they say: kube_version 1.30 unquoted is 1.30 in YAML and TOML, never
1.3, and versions no cluster runs are refused with the file, the line and the fix."""

from __future__ import annotations

import shutil

import pytest
from conftest import ROOT, run_cli

PAYMENTS = ROOT / "examples" / "payments-deployment.yaml"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (".sidecarlint.yaml", "fail_on: warning\nkube_version: {v}\n"),
        ("pyproject.toml", "[tool.sidecarlint]\nfail_on = 'warning'\nkube_version = {v}\n"),
        ("pyproject.toml", "[tool.sidecarlint]\nkube-version = {v}\n"),
    ],
)
def test_an_unquoted_version_is_read_as_written(tmp_path, monkeypatch, name, text):
    shutil.copy(PAYMENTS, tmp_path / "app.yaml")
    monkeypatch.chdir(tmp_path)
    select = ("--select", "native-sidecar-unsupported")
    (tmp_path / name).write_text(text.format(v="1.30"))
    assert run_cli("check", ".", *select)[0] == 0  # 1.30 has native sidecars
    (tmp_path / name).write_text(text.format(v="1.28"))
    assert run_cli("check", ".", *select)[0] == 1  # 1.28 does not
    (tmp_path / name).write_text(text.format(v="1.3"))
    code, _, err = run_cli("check", ".")
    line = 2 if "fail_on" in text else 1
    assert code == 2 and f"{name}:{line + (name.endswith('.toml'))}: kube" in err
    assert "did you mean 1.30?" in err


@pytest.mark.parametrize("version", ["1.3", "2.0", "1.99", "0.9"])
def test_the_option_refuses_versions_no_cluster_runs(version):
    code, _, err = run_cli("check", str(PAYMENTS), "--kube-version", version)
    assert code == 2 and "--kube-version" in err and "Traceback" not in err
