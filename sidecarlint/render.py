"""Render Helm charts (`helm template`) and Kustomize overlays (`kubectl kustomize` or
`kustomize build`) to YAML text.

The repository being linted may be a stranger's pull request, so every command runs
client-side only and in a sandbox: paths are absolute and come after `--` (a folder named
`--output-dir=..` is a path, never a flag), the Helm release name is made valid from the
chart's name, HOME, Helm's config, cache, data, plugins and repositories and the kubeconfig
point into an empty temporary folder (no cluster, no plugin, no post-renderer, no write
outside it), the output is bounded in size and time, and what the tools print is decoded
without trusting its bytes. Nothing here runs a chart's hooks: `helm template` only prints
them, so hook Jobs and test Pods are linted too.
"""

from __future__ import annotations

import os
import re

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
TIMEOUT = 180  # seconds a render may take
MAX_RELEASE_NAME = 53  # Helm's limit on release names
_NOT_DNS = re.compile(r"[^a-z0-9-]+")


class Rendered:
    def __init__(self, text: str | None, error: str | None = None, command: str = "") -> None:
        self.text = text
        self.error = error
        self.command = command  # the command as a user would type it, quoted for a shell
        # The folder origin annotations are relative to (render_kustomization), if any.
        self.origin_root: str | None = None


def helm_binary() -> str | None:
    import shutil  # (imports bz2 and lzma: only runs that render pay for it)

    return shutil.which("helm")


def kustomize_command() -> list[str] | None:
    import shutil

    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def shown_command(words: list[str]) -> str:
    """A command as a user would retype it, shell-quoted (a folder name holding
    `; rm -rf ~` must not become a command when pasted)."""
    import shlex

    return shlex.join(words)


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
            for count, member in enumerate(archive):
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "Chart.yaml":
                    return True
                if count > 10_000:  # not a chart anyone packaged
                    return False
    except (OSError, tarfile.TarError, EOFError):
        return False
    return False


def release_name(chart: str) -> str:
    """A valid Helm release name (DNS-1123 label, at most 53 characters) from the chart's
    folder or archive name: `My_Chart` → `my-chart`, `--x` → `x`; `release` if nothing is
    left."""
    name = os.path.basename(os.path.normpath(chart)).removesuffix(".tgz").lower()
    name = _NOT_DNS.sub("-", name)[:MAX_RELEASE_NAME].strip("-")
    return name or "release"


def helm_command(
    chart: str,
    values: list[str],
    sets: list[str],
    kube_version: str | None,
    namespace: str | None = None,
) -> list[str]:
    """`helm template` with only client-side flags, then `--`, the release and the chart."""
    command = ["helm", "template"]
    if namespace:  # a DNS label, validated by config.py
        command += ["--namespace", namespace]
    for path in values:
        command += ["--values", os.path.abspath(path)]
    for assignment in sets:
        command += ["--set", assignment]
    if kube_version:
        command += ["--kube-version", kube_version]
    return [*command, "--", release_name(chart), os.path.abspath(chart)]


def _shown(command: list[str], path: str) -> str:
    """The command as a user would retype it: the path as they gave it, shell-quoted (a
    folder name holding `; rm -rf ~` must not become a command when pasted)."""
    return shown_command([path if word == os.path.abspath(path) else word for word in command])


def _sandbox_environment(home: str) -> dict[str, str]:
    """Only PATH and the locale from this environment; everything Helm and kubectl read or
    write points into `home`, an empty temporary folder."""
    env = {
        name: os.environ[name] for name in ("PATH", "LANG", "LC_ALL", "TZ") if name in os.environ
    }
    folders = {
        "HOME": "",
        "XDG_CONFIG_HOME": "config",
        "XDG_CACHE_HOME": "cache",
        "XDG_DATA_HOME": "data",
        "HELM_CONFIG_HOME": "config/helm",
        "HELM_CACHE_HOME": "cache/helm",
        "HELM_DATA_HOME": "data/helm",
        "HELM_PLUGINS": "data/helm/plugins",
        "HELM_REPOSITORY_CACHE": "cache/helm/repository",
    }
    for name, folder in folders.items():
        env[name] = os.path.join(home, folder)
    env["HELM_REPOSITORY_CONFIG"] = os.path.join(home, "config/helm/repositories.yaml")
    env["HELM_REGISTRY_CONFIG"] = os.path.join(home, "config/helm/registry/config.json")
    env["KUBECONFIG"] = os.path.join(home, "no-kubeconfig")  # no cluster to ask
    return env


def _run(command: list[str], binary: str, shown: str, max_bytes: int) -> Rendered:
    """Run a renderer in the sandbox, its output bounded to `max_bytes` and TIMEOUT."""
    import tempfile

    with (
        tempfile.TemporaryDirectory(prefix="sidecarlint-render-") as home,
        tempfile.TemporaryFile(dir=home) as out,
        tempfile.TemporaryFile(dir=home) as err,
    ):
        problem = _wait(command, binary, home, out, err, max_bytes)
        if problem is not None:
            return Rendered(None, problem, shown)
        out.seek(0)
        return Rendered(out.read().decode("utf-8", "replace"), None, shown)


def _wait(command: list[str], binary: str, home: str, out, err, max_bytes: int) -> str | None:
    """Run the command with its output in `out`; what went wrong, or None."""
    import subprocess
    import time

    try:
        process = subprocess.Popen(
            [binary, *command[1:]],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=_sandbox_environment(home),
            cwd=home,
            start_new_session=True,
        )
    except OSError as exc:
        return exc.strerror or str(exc)
    deadline = time.monotonic() + TIMEOUT
    while process.poll() is None:
        problem = None
        if time.monotonic() > deadline:
            problem = f"timed out after {TIMEOUT}s"
        elif os.fstat(out.fileno()).st_size > max_bytes:
            problem = f"its output is larger than {max_bytes} bytes (max_file_bytes)"
        if problem:
            process.kill()
            process.wait()
            return problem
        time.sleep(0.02)
    if process.returncode != 0:
        err.seek(0)
        message = " ".join(err.read(4000).decode("utf-8", "replace").split())
        return message or f"exit code {process.returncode}"
    if os.fstat(out.fileno()).st_size > max_bytes:
        return f"its output is larger than {max_bytes} bytes (max_file_bytes)"
    return None


def render_chart(
    chart: str,
    values: list[str],
    sets: list[str],
    kube_version: str | None,
    max_bytes: int,
    namespace: str | None = None,
) -> Rendered:
    binary = helm_binary()
    command = helm_command(chart, values, sets, kube_version, namespace)
    shown = _shown(command, chart)
    if binary is None:
        return Rendered(None, None, shown)
    return _run(command, binary, shown, max_bytes)


def render_kustomization(directory: str, max_bytes: int) -> Rendered:
    tool = kustomize_command()
    command = [*(tool or ["kubectl", "kustomize"]), "--", os.path.abspath(directory)]
    shown = _shown(command, directory)
    if tool is None:
        return Rendered(None, None, shown)
    import shutil

    binary = shutil.which(tool[0])
    assert binary is not None
    rendered = _with_origins(tool, directory, binary, shown, max_bytes)
    return rendered if rendered.text is not None else _run(command, binary, shown, max_bytes)


ORIGIN = "config.kubernetes.io/origin"


def _with_origins(
    tool: list[str], directory: str, binary: str, shown: str, max_bytes: int
) -> Rendered:
    """The overlay built through a kustomization of our own, in a temporary folder, that
    names it as its only resource and asks for `buildMetadata: [originAnnotations]`: every
    object then says which file it came from (the user's kustomization is never touched).
    The origin paths are relative to that folder; `origin_root` keeps it to resolve them."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="sidecarlint-origins-") as root:
        try:
            relative = os.path.relpath(os.path.abspath(directory), root)
        except ValueError:  # another drive: no relative path
            return Rendered(None, "no relative path", shown)
        with open(os.path.join(root, "kustomization.yaml"), "w", encoding="utf-8") as handle:
            handle.write(
                "resources:\n- " + json_string(relative) + "\nbuildMetadata: [originAnnotations]\n"
            )
        rendered = _run([*tool, "--", root], binary, shown, max_bytes)
    rendered.origin_root = root
    return rendered


def json_string(text: str) -> str:
    """A YAML scalar that is exactly `text`, whatever it holds (JSON is YAML)."""
    import json

    return json.dumps(text)
