"""Render Helm charts (`helm template`) and Kustomize overlays (`kubectl kustomize` or
`kustomize build`) to YAML text. Client-side only: nothing here touches a cluster or runs a
chart's hooks; `helm template` only prints them, so hook Jobs and test Pods are linted too."""

from __future__ import annotations

import os

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
TIMEOUT = 180


class Rendered:
    def __init__(self, text: str | None, error: str | None = None, command: str = "") -> None:
        self.text = text
        self.error = error
        self.command = command


def helm_binary() -> str | None:
    import shutil

    return shutil.which("helm")


def kustomize_command() -> list[str] | None:
    import shutil

    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def kustomization_file(directory: str) -> str | None:
    """The folder's kustomization file, if it is a Kustomize folder."""
    for name in KUSTOMIZATION_FILES:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    return None


def is_chart_archive(path: str) -> bool:
    """A packaged chart: a gzip tarball whose top folder holds Chart.yaml."""
    if not path.endswith(".tgz"):
        return False
    import tarfile

    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "Chart.yaml":
                    return True
    except (OSError, tarfile.TarError, EOFError):
        return False
    return False


def helm_command(
    chart: str, values: list[str], sets: list[str], kube_version: str | None
) -> list[str]:
    release = os.path.basename(os.path.normpath(chart)).removesuffix(".tgz") or "release"
    command = ["helm", "template", release, chart]
    for path in values:
        command += ["--values", path]
    for assignment in sets:
        command += ["--set", assignment]
    if kube_version:
        command += ["--kube-version", kube_version]
    return command


def _run(command: list[str], binary: str | None = None) -> Rendered:
    import subprocess

    shown = " ".join(command)
    try:
        result = subprocess.run(
            [binary or command[0], *command[1:]],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return Rendered(None, f"timed out after {TIMEOUT}s", shown)
    except OSError as exc:
        return Rendered(None, exc.strerror or str(exc), shown)
    if result.returncode != 0:
        message = " ".join(result.stderr.split()) or f"exit code {result.returncode}"
        return Rendered(None, message[:2000], shown)
    return Rendered(result.stdout, None, shown)


def render_chart(
    chart: str, values: list[str], sets: list[str], kube_version: str | None
) -> Rendered:
    binary = helm_binary()
    command = helm_command(chart, values, sets, kube_version)
    if binary is None:
        return Rendered(None, None, " ".join(command))
    return _run(command, binary)


def render_kustomization(directory: str) -> Rendered:
    command = kustomize_command()
    if command is None:
        return Rendered(None, None, f"kubectl kustomize {directory}")
    return _run([*command, directory])
