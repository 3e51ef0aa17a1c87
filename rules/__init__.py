"""The built-in sidecarlint rules and the sidecar catalogue, one YAML file each."""

import os

FOLDER = os.path.dirname(os.path.abspath(__file__))
