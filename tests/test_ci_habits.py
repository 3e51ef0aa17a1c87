"""What CI jobs and people at a terminal expect of a linter: exit codes they choose, an
empty run that says so, counts, quiet output, colour rules, the source line, all CPUs."""

from __future__ import annotations

from conftest import ROOT, run_cli

EXAMPLES = str(ROOT / "examples")
PAYMENTS = str(ROOT / "examples" / "payments-deployment.yaml")


def test_exit_zero_whatever_the_findings(tmp_path):
    assert run_cli("check", EXAMPLES)[0] == 1
    assert run_cli("check", EXAMPLES, "--exit-zero")[0] == 0
    (tmp_path / "bad.yaml").write_text("kind: Pod\nspec: [\n")
    assert run_cli("check", str(tmp_path))[0] == 2
    assert run_cli("check", str(tmp_path), "--exit-zero")[0] == 0
    assert run_cli("check", str(tmp_path), "--exit-zero", "--select", "nope")[0] == 2  # usage


def test_require_render_makes_an_unrendered_chart_an_error(tmp_path, monkeypatch):
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    monkeypatch.setenv("PATH", str(tmp_path))  # no helm
    code, out, _ = run_cli("check", str(chart))
    assert code == 0 and "info render-unavailable" in out
    code, out, _ = run_cli("check", str(chart), "--require-render")
    assert code == 2 and "error render-unavailable" in out
    (tmp_path / ".sidecarlint.yaml").write_text("require_render: true\n")
    monkeypatch.chdir(tmp_path)
    assert run_cli("check", "chart")[0] == 2
    assert run_cli("check", "chart", "--no-require-render")[0] == 0


def test_an_empty_run_says_so(tmp_path):
    code, out, err = run_cli("check", str(tmp_path))
    assert code == 0 and out == "no findings in 0 files\n"
    assert "nothing was linted" in err


def test_statistics_quiet_and_singulars():
    code, out, _ = run_cli("check", EXAMPLES, "--statistics")
    assert code == 1
    assert out.splitlines() == [
        "1  grace-period-too-short",
        "1  init-container-before-sidecar",
        "1  invalid-restart-policy",
        "1  job-legacy-sidecar",
        "1  native-sidecar-without-startup-probe",
        "5 findings (2 errors, 2 warnings, 1 info) in 3 files",
    ]
    code, out, _ = run_cli("check", EXAMPLES, "--quiet")
    assert len(out.splitlines()) == 5 and "findings (" not in out
    one = ["--select", "job-legacy-sidecar"]
    assert run_cli("check", EXAMPLES, *one)[1].endswith("1 finding (1 error) in 3 files\n")
    github = run_cli("check", EXAMPLES, *one, "--format", "github")[1].splitlines()[-1]
    assert github == "sidecarlint: 1 finding (1 error, 0 warnings, 0 infos) in 3 files"


def test_colour_follows_the_choice_and_the_environment(monkeypatch):
    def coloured(*args: str) -> bool:
        return "\x1b[" in run_cli("check", PAYMENTS, *args)[1]

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert not coloured()  # not a terminal
    assert coloured("--color", "always")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert coloured() and not coloured("--color", "never")
    monkeypatch.setenv("NO_COLOR", "1")
    assert not coloured() and coloured("--color", "always")
    assert not coloured("--color", "always", "--format", "json")


def test_show_source_prints_the_line_and_a_caret():
    code, out, _ = run_cli(
        "check", PAYMENTS, "--show-source", "--select", "native-sidecar-without-startup-probe"
    )
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("examples/payments-deployment.yaml:29:11: warning")
    assert (
        lines[1]
        == "    "
        + (ROOT / "examples" / "payments-deployment.yaml")
        .read_text(encoding="utf-8")
        .splitlines()[28]
    )
    assert lines[2] == "    " + " " * 10 + "^"


def test_jobs_zero_means_every_cpu():
    assert (
        run_cli("check", EXAMPLES, "--jobs", "0", "--format", "json")[1]
        == run_cli("check", EXAMPLES, "--jobs", "1", "--format", "json")[1]
    )
