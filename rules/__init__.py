"""The built-in sidecarlint rules and the sidecar catalogue, one YAML file each."""
