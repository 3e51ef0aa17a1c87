"""A deterministic corpus of realistic manifests for the benchmark.

    python benchmarks/generate.py OUT_DIR --files 2000 [--seed 7]

Each file holds one workload (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod, a JobSet
or an object of a kind sidecarlint does not know, whose pod template it must search for; about
60-150 lines) and sometimes a Service or ConfigMap beside it, with native and legacy sidecars,
probes, preStop hooks and grace periods in realistic proportions. The same seed always gives
the same bytes.
"""

from __future__ import annotations

import argparse
import os
import random

KINDS = [
    ("Deployment", 40),
    ("StatefulSet", 10),
    ("DaemonSet", 8),
    ("Job", 15),
    ("CronJob", 12),
    ("Pod", 15),
    ("JobSet", 5),
    ("Sandbox", 5),  # a custom resource sidecarlint does not know: searched at any depth
]
SIDECARS = [
    ("istio-proxy", "docker.io/istio/proxyv2:1.24.0", 15021, "/healthz/ready"),
    ("linkerd-proxy", "cr.l5d.io/linkerd/proxy:edge-25.1.1", 4191, "/ready"),
    ("cloud-sql-proxy", "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.3", 9090, "/startup"),
    ("fluent-bit", "fluent/fluent-bit:3.1", 2020, "/api/v1/health"),
    ("oauth2-proxy", "quay.io/oauth2-proxy/oauth2-proxy:v7.6.0", 4180, "/ping"),
    ("log-tailer", "busybox:1.36", None, None),
]


def _weighted(rng: random.Random, items):
    return rng.choices([i for i, _ in items], weights=[w for _, w in items])[0]


def _probe(indent: str, port: int, path: str, kind: str) -> list[str]:
    return [
        f"{indent}{kind}:",
        f"{indent}  httpGet:",
        f"{indent}    path: {path}",
        f"{indent}    port: {port}",
        f"{indent}  periodSeconds: 1",
        f"{indent}  failureThreshold: 60",
    ]


def _resources(indent: str, rng: random.Random) -> list[str]:
    cpu = rng.choice(["50m", "100m", "250m", "500m", "1"])
    mem = rng.choice(["64Mi", "128Mi", "256Mi", "512Mi", "1Gi"])
    return [
        f"{indent}resources:",
        f"{indent}  requests:",
        f"{indent}    cpu: {cpu}",
        f"{indent}    memory: {mem}",
        f"{indent}  limits:",
        f"{indent}    memory: {mem}",
    ]


def _app(indent: str, name: str, rng: random.Random, job: bool) -> list[str]:
    lines = [
        f"{indent}- name: {name}",
        f"{indent}  image: registry.example.com/{name}:"
        f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
    ]
    if job:
        lines += [f'{indent}  command: ["/bin/{name}", "--once"]']
    else:
        lines += [
            f"{indent}  ports:",
            f"{indent}    - name: http",
            f"{indent}      containerPort: {rng.choice([80, 8080, 8000, 3000])}",
        ]
    lines += [f"{indent}  env:"]
    for i in range(rng.randint(4, 14)):
        lines += [f"{indent}    - name: SETTING_{i}", f'{indent}      value: "{rng.random():.6f}"']
    lines += _resources(indent + "  ", rng)
    lines += [
        f"{indent}  securityContext:",
        f"{indent}    runAsNonRoot: true",
        f"{indent}    allowPrivilegeEscalation: false",
        f"{indent}    capabilities:",
        f"{indent}      drop: [ALL]",
        f"{indent}    readOnlyRootFilesystem: true",
    ]
    if not job and rng.random() < 0.8:
        lines += _probe(indent + "  ", 8080, "/healthz", "readinessProbe")
        lines += _probe(indent + "  ", 8080, "/livez", "livenessProbe")
    if rng.random() < 0.5:
        lines += [f"{indent}  lifecycle:", f"{indent}    preStop:"]
        if rng.random() < 0.5:
            lines += [
                f"{indent}      sleep:",
                f"{indent}        seconds: {rng.choice([5, 10, 15, 25])}",
            ]
        else:
            lines += [
                f"{indent}      exec:",
                f'{indent}        command: ["sh", "-c", "sleep '
                f'{rng.choice([5, 10, 20])} && kill -TERM 1"]',
            ]
    lines += [
        f"{indent}  volumeMounts:",
        f"{indent}    - name: data",
        f"{indent}      mountPath: /var/lib/{name}",
    ]
    return lines


def _sidecar(indent: str, rng: random.Random, native: bool) -> list[str]:
    name, image, port, path = rng.choice(SIDECARS)
    lines = [f"{indent}- name: {name}", f"{indent}  image: {image}"]
    if native:
        lines.append(f"{indent}  restartPolicy: Always")
        if port and rng.random() < 0.7:
            lines += _probe(indent + "  ", port, path, "startupProbe")
    if name == "cloud-sql-proxy":
        lines += [
            f"{indent}  args:",
            f"{indent}    - --max-sigterm-delay={rng.choice([5, 10, 30])}s",
            f"{indent}    - project:region:db",
        ]
    if name == "log-tailer":
        lines += [f'{indent}  command: ["sh", "-c", "tail -F /var/log/app.log"]']
    lines += _resources(indent + "  ", rng)
    return lines


def workload(rng: random.Random, index: int) -> str:
    kind = _weighted(rng, KINDS)
    name = f"svc-{index:05d}"
    job = kind in ("Job", "CronJob", "JobSet") or (kind == "Pod" and rng.random() < 0.5)
    api = {
        "Deployment": "apps/v1",
        "StatefulSet": "apps/v1",
        "DaemonSet": "apps/v1",
        "Job": "batch/v1",
        "CronJob": "batch/v1",
        "Pod": "v1",
        "JobSet": "jobset.x-k8s.io/v1alpha2",
        "Sandbox": "agents.example.com/v1",
    }[kind]
    head = [
        f"apiVersion: {api}",
        f"kind: {kind}",
        "metadata:",
        f"  name: {name}",
        f"  namespace: team-{index % 17}",
        "  labels:",
        f"    app: {name}",
        "    tier: backend",
    ]
    if kind == "Pod":
        spec_indent = "  "
        head += ["spec:"]
    else:
        head += ["spec:"]
        if kind in ("JobSet", "Sandbox"):
            outer = "  replicatedJobs:" if kind == "JobSet" else "  stages:"
            head += [
                outer,
                "    - name: workers",
                "      template:",
                "        spec:",
                "          template:",
                "            metadata:",
                "              labels:",
                f"                app: {name}",
                "            spec:",
            ]
            spec_indent = "              "
        elif kind == "CronJob":
            head += [
                '  schedule: "*/15 * * * *"',
                "  jobTemplate:",
                "    spec:",
                "      template:",
                "        metadata:",
                "          labels:",
                f"            app: {name}",
                "        spec:",
            ]
            spec_indent = "          "
        else:
            if kind in ("Deployment", "StatefulSet"):
                head += [f"  replicas: {rng.randint(1, 5)}"]
            if kind != "Job":
                head += ["  selector:", "    matchLabels:", f"      app: {name}"]
            head += ["  template:", "    metadata:", "      labels:", f"        app: {name}"]
            if rng.random() < 0.3:
                head += ["      annotations:", '        sidecar.istio.io/inject: "true"']
            head += ["    spec:"]
            spec_indent = "      "
    spec = []
    if job:
        spec.append(f"{spec_indent}restartPolicy: {rng.choice(['Never', 'OnFailure'])}")
    if rng.random() < 0.6:
        spec.append(f"{spec_indent}terminationGracePeriodSeconds: {rng.choice([10, 30, 45, 60])}")
    spec.append(f"{spec_indent}serviceAccountName: {name}")
    native = rng.random() < 0.5
    sidecars = rng.choice([0, 1, 1, 2])
    if native and sidecars:
        spec.append(f"{spec_indent}initContainers:")
        spec += _sidecar(spec_indent + "  ", rng, True)
        if sidecars > 1:
            spec += _sidecar(spec_indent + "  ", rng, True)
    spec.append(f"{spec_indent}containers:")
    spec += _app(spec_indent + "  ", name, rng, job)
    if not native:
        for _ in range(sidecars):
            spec += _sidecar(spec_indent + "  ", rng, False)
    spec += [
        f"{spec_indent}volumes:",
        f"{spec_indent}  - name: data",
        f"{spec_indent}    emptyDir: {{}}",
    ]
    return "\n".join(head + spec) + "\n"


def extra(rng: random.Random, index: int) -> str:
    if rng.random() < 0.5:
        return (
            f"apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{index:05d}\nspec:\n"
            f"  selector:\n    app: svc-{index:05d}\n  ports:\n    - port: 80\n"
            f"      targetPort: 8080\n"
        )
    data = "\n".join(f'  key{i}: "{rng.random():.8f}"' for i in range(rng.randint(3, 12)))
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg-{index:05d}\ndata:\n{data}\n"


def generate(out: str, files: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    paths = []
    for index in range(files):
        docs = [workload(rng, index)]
        if rng.random() < 0.4:
            docs.append(extra(rng, index))
        path = os.path.join(out, f"{index // 500:03d}", f"app-{index:05d}.yaml")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("---\n".join(docs))
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    generate(args.out, args.files, args.seed)


if __name__ == "__main__":
    main()
