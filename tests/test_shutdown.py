"""The termination model (semantics.md §5): parsing every form, and the arithmetic."""

from __future__ import annotations

import pytest

from sidecarlint.termination import (
    Estimate,
    Member,
    declared_stop_seconds,
    native_budget,
    parallel_budget,
    parse_duration,
    parse_sleep_argument,
    prestop_seconds,
    sidecar_stop_seconds,
    stops_itself,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5s", 5),
        ("1m30s", 90),
        ("500ms", 0.5),
        ("1h", 3600),
        ("2.5s", 2.5),
        ("45", 45),
        (30, 30),
        ("forever", None),
        ("-5s", None),
        ("", None),
        ("5 seconds", None),
        (True, None),
        (None, None),
        ([1], None),
    ],
)
def test_go_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("15", 15),
        ("1.5", 1.5),
        ("2m", 120),
        ("1h", 3600),
        ("10s", 10),
        (".5", 0.5),
        (7, 7),
        ("abc", None),
        ("-3", None),
        ("5x", None),
        (-1, None),
    ],
)
def test_sleep_arguments(text, seconds):
    assert parse_sleep_argument(text) == seconds


def _hook(hook):
    return {"name": "c", "lifecycle": {"preStop": hook}}


@pytest.mark.parametrize(
    ("hook", "seconds", "exact"),
    [
        ({"sleep": {"seconds": 25}}, 25, True),
        ({"sleep": {"seconds": -1}}, 0, False),
        ({"sleep": {"seconds": "ten"}}, 0, False),
        ({"exec": {"command": ["sleep", "15"]}}, 15, True),
        ({"exec": {"command": ["/bin/sleep", "2m"]}}, 120, True),
        ({"exec": {"command": ["sleep", "abc"]}}, 0, False),
        ({"exec": {"command": ["sh", "-c", "echo bye && sleep 10"]}}, 10, True),
        ({"exec": {"command": ["/bin/sh", "-c", "sleep 5; sleep 1.5m"]}}, 95, True),
        (
            {"exec": {"command": ["/bin/sh", "-ec", "sleep 5 && /bin/vault token revoke -self"]}},
            5,
            False,
        ),
        ({"exec": {"command": ["bash", "-c", "nginx -s quit; sleep 3"]}}, 3, False),
        (
            {
                "exec": {
                    "command": ["pilot-agent", "request", "--debug-port=15020", "POST", "drain"]
                }
            },
            0,
            True,
        ),
        ({"exec": {"command": ["/cloud-sql-proxy", "shutdown"]}}, 0, True),
        ({"exec": {"command": ["/wait-shutdown"]}}, 0, False),
        ({"httpGet": {"path": "/drain", "port": 8080}}, 0, False),
        ({"exec": {"command": "sleep 5"}}, 0, False),
        ({"exec": {"command": ["sh", "-c", "sleep 'unterminated"]}}, 0, False),
    ],
)
def test_prestop_forms(hook, seconds, exact):
    estimate = prestop_seconds(_hook(hook))
    assert (estimate.seconds, estimate.exact) == (seconds, exact)


def test_no_prestop_is_zero_and_exact():
    assert prestop_seconds({"name": "c"}) == Estimate(0.0, True, [])
    assert prestop_seconds({"name": "c", "lifecycle": "junk"}).seconds == 0


ISTIO = {"model": "istio", "seconds": 5}


def test_istio_drain_default_annotation_env_and_exit_on_zero():
    proxy = {"name": "istio-proxy"}
    assert sidecar_stop_seconds(proxy, ISTIO, {}).seconds == 5
    assert (
        sidecar_stop_seconds(proxy, ISTIO, {}, {"terminationDrainDuration": "1m30s"}).seconds == 90
    )
    injected = {
        "name": "istio-proxy",
        "env": [{"name": "PROXY_CONFIG", "value": '{"terminationDrainDuration":"20s"}'}],
    }
    assert sidecar_stop_seconds(injected, ISTIO, {}).seconds == 20
    bad = sidecar_stop_seconds(proxy, ISTIO, {}, {"terminationDrainDuration": "forever"})
    assert (bad.seconds, bad.exact) == (0, False)
    zero = sidecar_stop_seconds(
        proxy,
        ISTIO,
        {},
        {
            "proxyMetadata": {
                "EXIT_ON_ZERO_ACTIVE_CONNECTIONS": "true",
                "MINIMUM_DRAIN_DURATION": "8s",
            }
        },
    )
    assert (zero.seconds, zero.exact) == (8, False)


def test_cloud_sql_proxy_delays_as_flags_or_env():
    stop = {"model": "cloud-sql-proxy"}
    flags = {"args": ["--max-sigterm-delay=10s", "--min-sigterm-delay", "5s", "p:r:i"]}
    assert sidecar_stop_seconds(flags, stop, {}).seconds == 15
    env = {"env": [{"name": "CSQL_PROXY_MAX_SIGTERM_DELAY", "value": "30s"}]}
    assert sidecar_stop_seconds(env, stop, {}).seconds == 30
    assert sidecar_stop_seconds({"args": ["p:r:i"]}, stop, {}).seconds == 0
    assert not sidecar_stop_seconds({"args": ["--max-sigterm-delay=soon"]}, stop, {}).exact


def test_linkerd_dapr_kuma_consul_annotations():
    linkerd = {"model": "linkerd"}
    assert not sidecar_stop_seconds({}, linkerd, {}).exact  # the 120s cap is not a typical time
    assert (
        sidecar_stop_seconds(
            {}, linkerd, {"config.linkerd.io/shutdown-grace-period": "40s"}
        ).seconds
        == 40
    )
    dapr = {"model": "dapr", "seconds": 5}
    assert sidecar_stop_seconds({}, dapr, {}).seconds == 5
    assert (
        sidecar_stop_seconds(
            {},
            dapr,
            {"dapr.io/graceful-shutdown-seconds": "10", "dapr.io/block-shutdown-duration": "20s"},
        ).seconds
        == 30
    )
    assert sidecar_stop_seconds({}, {"model": "kuma", "seconds": 30}, {}).seconds == 30
    assert (
        sidecar_stop_seconds(
            {}, {"model": "kuma", "seconds": 30}, {"kuma.io/sidecar-drain-time": "10s"}
        ).seconds
        == 10
    )
    key = "consul.hashicorp.com/sidecar-proxy-lifecycle-shutdown-grace-period-seconds"
    assert sidecar_stop_seconds({}, {"model": "consul", "seconds": 30}, {key: "12"}).seconds == 12


def test_declared_app_stop_seconds():
    assert declared_stop_seconds({"sidecarlint.io/stop-seconds": "20"}, "app").seconds == 20
    ann = {"sidecarlint.io/stop-seconds": "app=20, worker=5"}
    assert declared_stop_seconds(ann, "worker").seconds == 5
    assert declared_stop_seconds(ann, "other") is None
    assert declared_stop_seconds({"sidecarlint.io/stop-seconds": "soon"}, "app") is None


def _m(name, prestop, stop):
    return Member(
        name,
        Estimate(prestop, True, [f"preStop {prestop}s"] if prestop else []),
        Estimate(stop, True, [f"stop {stop}s"] if stop else []),
    )


def test_worked_example_native_needs_40s():
    """semantics.md §5.2: istio-proxy (5s) and cloud-sql-proxy (10s) after an app taking 25s."""
    app = _m("app", 15, 10)
    sidecars = [_m("istio-proxy", 0, 5), _m("cloud-sql-proxy", 0, 10)]
    budget = native_budget([app], sidecars)
    assert budget.need == 40 and budget.exact
    assert budget.steps == [
        "app preStop 15s, stop 10s",
        "then cloud-sql-proxy stop 10s",
        "then istio-proxy stop 5s",
    ]
    # the same pod with legacy sidecars stops in parallel: 25s
    assert parallel_budget([app, *sidecars]).need == 25


def test_sidecar_prestop_longer_than_the_app_delays_earlier_sidecars():
    budget = native_budget([_m("app", 0, 5)], [_m("first", 0, 5), _m("last", 30, 2)])
    assert budget.need == 37  # last: max(30, 5) + 2 = 32; first: 32 + 5


def test_unknown_values_make_the_need_a_lower_bound():
    app = Member("app", Estimate(10, False), Estimate(0, False))
    budget = native_budget([app], [_m("proxy", 0, 5)])
    assert budget.need == 15 and not budget.exact


def test_self_stopping_hooks():
    assert stops_itself(_hook({"exec": {"command": ["/cloud-sql-proxy", "shutdown"]}}))
    assert stops_itself(_hook({"exec": {"command": ["sh", "-c", "kill -TERM 1"]}}))
    assert stops_itself(_hook({"exec": {"command": ["curl", "-XPOST", "localhost:4191/shutdown"]}}))
    assert stops_itself(_hook({"httpGet": {"path": "/quitquitquit", "port": 15020}}))
    assert not stops_itself(
        _hook({"exec": {"command": ["pilot-agent", "request", "POST", "drain"]}})
    )
    assert not stops_itself(_hook({"exec": {"command": ["sh", "-c", "kill 12"]}}))
