"""The catalogue recognises each sidecar by its own repository, and nothing else by it."""

from __future__ import annotations

import pytest

from sidecarlint.catalog import load

CATALOG = load()


@pytest.mark.parametrize(
    ("image", "title"),
    [
        ("gcr.io/alloydb-connectors/alloydb-auth-proxy:1.14.0", "AlloyDB Auth Proxy"),
        ("gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.3", "Cloud SQL Auth Proxy v2"),
        ("otel/opentelemetry-collector-contrib:0.100.0", "OpenTelemetry Collector"),
        (
            "ghcr.io/open-telemetry/opentelemetry-collector-releases/opentelemetry-collector-k8s:0.1",
            "OpenTelemetry Collector",
        ),
        # the load generator shipped beside the collector is not a collector
        ("ghcr.io/open-telemetry/opentelemetry-collector-contrib/telemetrygen:v0.100.0", None),
    ],
)
def test_images_match_their_own_sidecar(image, title):
    found = CATALOG.match({"name": "c", "image": image})
    assert (found.title if found else None) == title


def test_kuma_validation_is_a_mesh_init_container():
    assert CATALOG.is_mesh_init({"name": "kuma-validation"})
    assert CATALOG.is_mesh_init({"name": "kuma-init"})
