"""sidecarlint: a static policy linter for sidecar readiness in Kubernetes manifests."""

__version__ = "0.1.0"
