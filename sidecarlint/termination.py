"""The termination model of semantics.md §5, as plain arithmetic over plain values.

Every duration is an `Estimate`: a number of seconds that is known to be *at least* spent,
whether that figure is exact, and where it came from. Unknown hooks and unknown stop times
count as 0 and not exact, so a verdict built from estimates ("the grace period is exceeded")
only ever rests on values read from the manifest, never on a guess.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from sidecarlint.workloads import command_words, dig, env_value

if TYPE_CHECKING:
    from sidecarlint.check import CheckContext
    from sidecarlint.facts import Facts

STOP_ANNOTATION = "sidecarlint.io/stop-seconds"

_GO_DURATION = r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)"
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_GO_DURATION_FULL = r"(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+"
_SLEEP_ARG = r"^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$"
_SLEEP_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# Commands in a preStop chain that return at once.
_INSTANT = {"echo", "true", "kill", "pkill", "killall", "touch", "rm", "printf", ":", "date"}
_SHELLS = {"sh", "bash", "ash", "dash", "zsh", "busybox"}
# preStop hooks that stop the sidecar itself (semantics.md §5.5)
_SELF_STOP = (
    r"(?:cloud[-_]sql[-_]proxy|alloydb-auth-proxy)\S*\s+shutdown|/quitquitquit|:4191/shutdown"
    r"|/v1\.0/shutdown"
    r"|/graceful_shutdown|\bkill\s+(?:-\S+\s+)*1\b|/agent/v1/quit"
)
_ISTIO_DRAIN = r"pilot-agent\s+request\b.*\bPOST\s+drain\b"


class Estimate:
    def __init__(
        self,
        seconds: float = 0.0,
        exact: bool = True,
        parts: list[str] | None = None,
    ) -> None:
        self.seconds = seconds
        self.exact = exact
        self.parts = [] if parts is None else parts

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(
            self.seconds + other.seconds, self.exact and other.exact, self.parts + other.parts
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Estimate):
            return NotImplemented
        return (self.seconds, self.exact, self.parts) == (other.seconds, other.exact, other.parts)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Estimate({self.seconds!r}, {self.exact!r}, {self.parts!r})"


UNKNOWN = Estimate(0.0, False)


def seconds_text(value: float) -> str:
    return f"{value:g}s"


# The API's seconds fields are int64, and a Go time.Duration is int64 nanoseconds: past
# these no Kubernetes or mesh component accepts a value, so the model counts it as unknown
# (and `invalid-number` reports it) instead of computing with infinities.
INT64_MAX = 2**63 - 1
MAX_DURATION_SECONDS = INT64_MAX / 1e9


def in_range(value: object, maximum: float = INT64_MAX) -> bool:
    """A number (not a boolean), finite, from 0 to `maximum`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return 0 <= value <= maximum  # NaN compares false, infinities are out of range


def _number_or_text(value: object) -> float | str | None:
    """A number of seconds in range as float, a string as stripped text, anything else
    None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if in_range(value) else None
    return value.strip()[:100] if isinstance(value, str) else None


def parse_duration(value: object) -> float | None:
    """A Go duration ('1m30s', '500ms', '5s') or a bare number of seconds → seconds."""
    text = _number_or_text(value)
    if not isinstance(text, str):
        return text
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        value = float(text)
    elif re.fullmatch(_GO_DURATION_FULL, text):
        value = 0.0
        for number, unit in re.findall(_GO_DURATION, text):
            value += float(number) * _GO_UNITS[unit]
    else:
        return None
    return value if in_range(value, MAX_DURATION_SECONDS) else None


def parse_sleep_argument(value: object) -> float | None:
    """A GNU `sleep` operand: '15', '1.5', '2m', '1h' → seconds; anything else → None."""
    text = _number_or_text(value)
    if not isinstance(text, str):
        return text
    match = re.match(_SLEEP_ARG, text)
    if not match:
        return None
    value = float(match.group(1)) * _SLEEP_UNITS[match.group(2)]
    return value if in_range(value) else None


def _sleep_seconds(operands: list[str]) -> float | None:
    """`sleep A B ...` sleeps for the sum of its operands; None when one is not a duration."""
    values = [parse_sleep_argument(word) for word in operands]
    if not values or any(v is None for v in values):
        return None
    return float(sum(v for v in values if v is not None))


def _command_words(command: object) -> list[str] | None:
    if not isinstance(command, list) or not command:
        return None
    return [str(word) for word in command]


def _script_of(words: list[str]) -> str | None:
    """`[sh, -c, script]` (or `/bin/bash -ec script`) → script."""
    program = words[0].rsplit("/", 1)[-1]
    if program in _SHELLS and len(words) >= 3 and words[1].startswith("-") and "c" in words[1]:
        return words[2]
    return None


_SEGMENTS = r"&&|\|\||;|\n|\|"
_chain_cache: dict[str, tuple[float, bool]] = {}


def _chain_seconds(script: str) -> Estimate:
    """Sum the sleeps of a shell chain (`a && sleep 5; sleep 2m`). Scripts repeat across
    manifests, so results are remembered."""
    cached = _chain_cache.get(script)
    if cached is None:
        estimate = _parse_chain(script)
        cached = (estimate.seconds, estimate.exact)
        if len(_chain_cache) > 4096:
            _chain_cache.clear()
        _chain_cache[script] = cached
    return Estimate(cached[0], cached[1])


def _parse_chain(script: str) -> Estimate:
    total = 0.0
    exact = True
    found_sleep = False
    for segment in re.split(_SEGMENTS, script):
        if "'" in segment or '"' in segment or "\\" in segment or "#" in segment:
            import shlex

            try:
                words = shlex.split(segment, comments=True)
            except ValueError:
                return UNKNOWN
        else:
            words = segment.split()  # no quoting: what shlex would give, far faster
        if not words:
            continue
        program = words[0].rsplit("/", 1)[-1]
        if program == "sleep":
            seconds = _sleep_seconds(words[1:])
            if seconds is None:
                return UNKNOWN
            total += seconds
            found_sleep = True
        elif program == "exec" and len(words) > 1:
            return _parse_chain(" ".join(words[1:]))
        elif program not in _INSTANT:
            exact = False  # an unknown command: the sleeps are a lower bound
    if not found_sleep and exact:
        return Estimate(0.0, True)
    return Estimate(total, exact)


def prestop_seconds(container: dict) -> Estimate:
    """`P(c)`: how long the container's preStop hook runs."""
    hook = dig(container, "lifecycle", "preStop")
    if not isinstance(hook, dict) or not hook:
        return Estimate(0.0, True)
    sleep = hook.get("sleep")
    if isinstance(sleep, dict):
        seconds = sleep.get("seconds")
        if isinstance(seconds, int) and in_range(seconds):
            return Estimate(float(seconds), True, [f"preStop sleep {seconds_text(seconds)}"])
        return UNKNOWN
    exec_ = hook.get("exec")
    if isinstance(exec_, dict):
        words = _command_words(exec_.get("command"))
        if words is None:
            return UNKNOWN
        joined = " ".join(words)
        if re.search(_ISTIO_DRAIN, joined) or re.search(_SELF_STOP, joined):
            return Estimate(0.0, True)
        program = words[0].rsplit("/", 1)[-1]
        if program == "sleep":
            total = _sleep_seconds(words[1:])
            if total is None:
                return UNKNOWN
            return Estimate(total, True, [f"preStop sleep {seconds_text(total)}"])
        script = _script_of(words)
        if script is not None:
            estimate = _chain_seconds(script)
            if estimate.seconds:
                estimate.parts = [
                    f"preStop sleep {'at least ' if not estimate.exact else ''}"
                    f"{seconds_text(estimate.seconds)}"
                ]
            return estimate
        return UNKNOWN
    if "tcpSocket" in hook:
        return Estimate(0.0, True)
    return UNKNOWN  # httpGet and anything else: its duration cannot be known


def stops_itself(container: dict) -> str | None:
    """The preStop action that makes a sidecar exit (cloud-sql-proxy shutdown, quit
    endpoints, `kill 1`), or None."""
    hook = dig(container, "lifecycle", "preStop")
    if not isinstance(hook, dict):
        return None
    exec_ = hook.get("exec")
    if isinstance(exec_, dict):
        words = _command_words(exec_.get("command"))
        if words:
            match = re.search(_SELF_STOP, " ".join(words))
            if match:
                return match.group(0)
    http = hook.get("httpGet")
    if isinstance(http, dict) and isinstance(http.get("path"), str):
        match = re.search(_SELF_STOP, f":{http.get('port')}{http['path']}")
        if match or http["path"] in ("/quitquitquit", "/shutdown", "/v1.0/shutdown"):
            return f"httpGet {http['path']}"
    return None


# ---------------------------------------------------------------------------------------
# S(c): stop time after SIGTERM, from the catalogue's model and the manifest's knobs


def _env(container: dict, name: str) -> object:
    return env_value(container.get("env"), name)


def _flag(container: dict, name: str) -> object:
    """`--name=value` or `--name value` (also `-name`) in args or command."""
    words = command_words(container)
    for index, word in enumerate(words):
        for prefix in (f"--{name}", f"-{name}"):
            if word == prefix and index + 1 < len(words):
                return words[index + 1]
            if word.startswith(prefix + "="):
                return word[len(prefix) + 1 :]
    return None


def _proxy_config(container: dict, annotation: dict | None) -> dict:
    """Istio ProxyConfig: the injected PROXY_CONFIG env (JSON), overlaid by the pod
    annotation `proxy.istio.io/config` (parsed by the caller; it may be YAML)."""
    merged: dict = {}
    raw = _env(container, "PROXY_CONFIG")
    if isinstance(raw, str) and raw.strip():
        import json

        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if isinstance(value, dict):
            merged.update(value)
    if isinstance(annotation, dict):
        merged.update(annotation)
    return merged


def _istio(container: dict, proxy_config: dict | None, default: float) -> Estimate:
    config = _proxy_config(container, proxy_config)
    metadata = config.get("proxyMetadata") if isinstance(config.get("proxyMetadata"), dict) else {}
    exit_on_zero = metadata.get("EXIT_ON_ZERO_ACTIVE_CONNECTIONS") or _env(
        container, "EXIT_ON_ZERO_ACTIVE_CONNECTIONS"
    )
    if str(exit_on_zero).lower() == "true":
        minimum = parse_duration(
            metadata.get("MINIMUM_DRAIN_DURATION")
            or _env(container, "MINIMUM_DRAIN_DURATION")
            or "5s"
        )
        if minimum is None:
            return UNKNOWN
        return Estimate(
            minimum,
            False,
            [f"drain at least {seconds_text(minimum)} (EXIT_ON_ZERO_ACTIVE_CONNECTIONS)"],
        )
    if "terminationDrainDuration" in config:
        value = parse_duration(config["terminationDrainDuration"])
        if value is None:
            return UNKNOWN
        return Estimate(value, True, [f"drain {seconds_text(value)} (terminationDrainDuration)"])
    env_value = _env(container, "TERMINATION_DRAIN_DURATION_SECONDS")
    if env_value is not None:
        value = parse_duration(env_value)
        if value is None:
            return UNKNOWN
        return Estimate(
            value, True, [f"drain {seconds_text(value)} (TERMINATION_DRAIN_DURATION_SECONDS)"]
        )
    return Estimate(default, True, [f"drain {seconds_text(default)} (Istio default)"])


def _cloud_sql_proxy(container: dict) -> Estimate:
    total = Estimate(0.0, True)
    for flag, env in (
        ("min-sigterm-delay", "MIN_SIGTERM_DELAY"),
        ("max-sigterm-delay", "MAX_SIGTERM_DELAY"),
    ):
        raw = _flag(container, flag)
        for prefix in ("CSQL_PROXY_", "ALLOYDB_PROXY_"):  # Cloud SQL's, AlloyDB's
            if raw is None:
                raw = _env(container, prefix + env)
        if raw is None:
            continue
        value = parse_duration(raw)
        if value is None:
            return UNKNOWN
        total = total + Estimate(value, True, [f"{seconds_text(value)} (--{flag})"])
    return total


def _annotation_seconds(
    annotations: dict, key: str, default: float | None, label: str
) -> Estimate | None:
    raw = annotations.get(key)
    if raw is None:
        if default is None:
            return None
        return Estimate(default, True, [f"{seconds_text(default)} ({label} default)"])
    value = parse_duration(raw)
    if value is None:
        return UNKNOWN
    return Estimate(value, True, [f"{seconds_text(value)} ({key})"])


# The pod annotations the model reads as a number of seconds or a Go duration.
DURATION_ANNOTATIONS = (
    STOP_ANNOTATION,
    "config.linkerd.io/shutdown-grace-period",
    "dapr.io/graceful-shutdown-seconds",
    "dapr.io/block-shutdown-duration",
    "kuma.io/sidecar-drain-time",
    "consul.hashicorp.com/sidecar-proxy-lifecycle-shutdown-grace-period-seconds",
)


def sidecar_stop_seconds(
    container: dict, stop: dict, annotations: dict, proxy_config: dict | None = None
) -> Estimate:
    """`S(c)` for a catalogue sidecar, from its `stop:` entry and the manifest's knobs
    (`proxy_config` is Istio's `proxy.istio.io/config` annotation, already parsed)."""
    model = stop.get("model")
    default = float(stop.get("seconds", 0) or 0)
    if model == "istio":
        return _istio(container, proxy_config, default)
    if model == "cloud-sql-proxy":
        return _cloud_sql_proxy(container)
    if model == "linkerd":
        # The proxy drains until its connections close, up to shutdown-grace-period (120s by
        # default): a cap, not a typical time. Only an explicit value is counted.
        found = _annotation_seconds(
            annotations, "config.linkerd.io/shutdown-grace-period", None, "Linkerd"
        )
        return found or Estimate(0.0, False)
    if model == "dapr":
        graceful = _annotation_seconds(
            annotations, "dapr.io/graceful-shutdown-seconds", default, "Dapr"
        )
        block = _annotation_seconds(annotations, "dapr.io/block-shutdown-duration", None, "")
        result = graceful or UNKNOWN
        return result + block if block else result
    if model == "kuma":
        return (
            _annotation_seconds(annotations, "kuma.io/sidecar-drain-time", default, "Kuma")
            or UNKNOWN
        )
    if model == "consul":
        key = "consul.hashicorp.com/sidecar-proxy-lifecycle-shutdown-grace-period-seconds"
        return _annotation_seconds(annotations, key, default, "Consul") or UNKNOWN
    if default:
        return Estimate(default, True, [f"stop {seconds_text(default)}"])
    return Estimate(0.0, True)


def declared_stop_seconds(annotations: dict, name: str) -> Estimate | None:
    """Our pod annotation `sidecarlint.io/stop-seconds`: "20" for every app container, or
    "app=20,worker=5" per container."""
    raw = annotations.get(STOP_ANNOTATION)
    if raw is None:
        return None
    text = str(raw)
    if "=" not in text:
        value = parse_duration(text)
        return (
            Estimate(value, True, [f"stop {seconds_text(value)} ({STOP_ANNOTATION})"])
            if value is not None
            else None
        )
    for item in text.split(","):
        key, _, value_text = item.partition("=")
        if key.strip() == name:
            value = parse_duration(value_text.strip())
            if value is not None:
                return Estimate(value, True, [f"stop {seconds_text(value)} ({STOP_ANNOTATION})"])
    return None


# ---------------------------------------------------------------------------------------
# The models


class Member:
    """One container in the model: its name, preStop P and stop time S."""

    def __init__(self, name: str, prestop: Estimate, stop: Estimate) -> None:
        self.name = name
        self.prestop = prestop
        self.stop = stop
        self.total = prestop + stop


class Budget:
    def __init__(self, need: float, exact: bool, steps: list[str]) -> None:
        self.need = need  # seconds, from known values only (a lower bound)
        self.exact = exact
        self.steps = steps  # the critical path, in time order, for the message


def _describe(member: Member, with_prestop: bool = True) -> str:
    parts = (member.prestop.parts if with_prestop else []) + member.stop.parts
    if not parts:
        return f"{member.name} 0s"
    return f"{member.name} " + ", ".join(parts)


def parallel_budget(members: list[Member]) -> Budget:
    """Legacy sidecars, or Kubernetes < 1.29: every container stops at once (§5.3)."""
    if not members:
        return Budget(0.0, True, [])
    worst = max(members, key=lambda m: m.total.seconds)
    steps = [_describe(worst)] if worst.total.seconds else []
    return Budget(worst.total.seconds, all(m.total.exact for m in members), steps)


def native_budget(mains: list[Member], sidecars: list[Member]) -> Budget:
    """Native sidecars (§5.2): after the last main container exits, the sidecars get SIGTERM
    one at a time, last-declared first.

        E(s_n) = max(P(s_n), T_main) + S(s_n)
        E(s_k) = max(P(s_k), T_main, E(s_{k+1})) + S(s_k)
    """
    main = parallel_budget(mains)
    exact = main.exact
    finish = main.need
    steps = list(main.steps)
    for sidecar in reversed(sidecars):
        exact = exact and sidecar.prestop.exact and sidecar.stop.exact
        start = finish
        if sidecar.prestop.seconds > finish:
            start = sidecar.prestop.seconds
            steps = [_describe(Member(sidecar.name, sidecar.prestop, Estimate()))]
        finish = start + sidecar.stop.seconds
        if sidecar.stop.seconds or sidecar.stop.parts:
            steps.append(("then " if steps else "") + _describe(sidecar, with_prestop=False))
    return Budget(finish, exact, steps)


# ---------------------------------------------------------------------------------------
# The pod timeline: the schedule the models give, as plain data (drawn by timeline.py)

DEFAULT_GRACE = 30  # terminationGracePeriodSeconds when the pod sets none


class Step(NamedTuple):
    """One step of startup: the containers that start together and what the next waits for."""

    names: tuple[str, ...]
    role: str  # "init container", "native sidecar", "containers", "injected legacy sidecar"
    gate: str  # what the next step waits for
    condition: tuple | None = None  # an injected sidecar's (`Planned.condition`, mode)


class Bar(NamedTuple):
    """One container in shutdown, in seconds after SIGTERM reaches the pod."""

    name: str
    role: str  # "container", "legacy sidecar", "native sidecar", "injected legacy sidecar"
    prestop: float  # its preStop hook runs from 0 to here
    sigterm: float  # when the container itself gets SIGTERM
    end: float  # when it has stopped (known values only: a lower bound when not exact)
    exact: bool
    parts: tuple[str, ...]  # where the figures come from
    condition: tuple | None = None  # an injected sidecar's (`Planned.condition`, mode)


class Timeline(NamedTuple):
    title: str  # Kind/name and which pod
    where: str  # path:line
    startup: tuple[Step, ...]
    bars: tuple[Bar, ...]
    grace: float
    grace_set: bool  # False: the default 30s
    native_order: bool  # native sidecars stop after the app, in reverse order


def order(bars: list[Bar], native_order: bool) -> list[Bar]:
    """Native sidecars stopped after every other container, one at a time, last declared
    first (semantics.md §5.2; `termination.native_budget`); before 1.29 all at once.
    `bars` holds the native sidecars last, in the order they stop."""
    if not native_order:
        return bars
    others = [bar for bar in bars if not bar.role.endswith("native sidecar")]
    finish = max((bar.end for bar in others), default=0.0)
    ordered = list(others)
    for bar in [bar for bar in bars if bar.role.endswith("native sidecar")]:
        sigterm = max(bar.prestop, finish)
        ordered.append(bar._replace(sigterm=sigterm, end=sigterm + bar.end - bar.sigterm))
        finish = ordered[-1].end
    return ordered


def under(timeline: Timeline, facts: Facts, context: CheckContext) -> Timeline:
    """A timeline built before the run's facts were known, with the injected sidecars
    those facts confirm (`settled`)."""
    from sidecarlint.families.injection import injection_mode

    tags = {bar.condition for bar in timeline.bars if bar.condition is not None}
    if not tags:
        return timeline
    holds = {}
    for condition, mode in tags:
        found = injection_mode(condition, facts, context)
        if found is not None and found[0] == mode:
            holds[(condition, mode)] = found[1]
    return settled(timeline, holds)


def settled(timeline: Timeline, holds: dict[tuple, str]) -> Timeline:
    """The timeline with only the injected sidecars whose condition and mode the run's facts
    confirm ((condition, mode) → why), the native sidecars' stops scheduled again without
    the others."""
    bars = [bar for bar in timeline.bars if bar.condition is None or bar.condition in holds]
    bars = [
        bar._replace(sigterm=bar.prestop, end=bar.prestop + bar.end - bar.sigterm) for bar in bars
    ]
    steps = [
        step
        if step.condition is None
        else step._replace(
            role=f"injected {step.condition[1]} sidecar ({holds[step.condition].split(';')[0]})"
        )
        for step in timeline.startup
        if step.condition is None or step.condition in holds
    ]
    return timeline._replace(startup=tuple(steps), bars=tuple(order(bars, timeline.native_order)))
