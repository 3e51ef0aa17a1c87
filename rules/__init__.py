"""The built-in sidecarlint rules and the sidecar catalogue, one YAML file each.

The YAML files are the source. `builtin.json` holds the same content already parsed, because
reading it is thirty times faster than parsing the YAML (a pre-commit hook starts sidecarlint
constantly); it is used only while the checksum it records matches the YAML files, so a
stale bundle is never read. Regenerate it with `python -m sidecarlint.builtin_rules` (a
test fails while it is stale).
"""

from __future__ import annotations

import json
import os
import zlib

# The files that are data for the rules, not rules: the sidecar catalogue, the workload kinds.
DATA_FILES = ("sidecars.yaml", "workloads.yaml")
FOLDER = os.path.dirname(os.path.abspath(__file__))
BUNDLE = os.path.join(FOLDER, "builtin.json")

_data: dict[str, object] | None = None


def _sources() -> dict[str, bytes]:
    sources = {}
    for name in sorted(os.listdir(FOLDER)):
        if name.endswith(".yaml"):
            with open(os.path.join(FOLDER, name), "rb") as handle:
                sources[name] = handle.read()
    return sources


def _checksum(sources: dict[str, bytes]) -> str:
    crc = 0
    for name, data in sources.items():
        crc = zlib.crc32(data, zlib.crc32(name.encode(), crc))
    return f"{crc:08x}"


def parse(sources: dict[str, bytes]) -> dict[str, object]:
    import yaml

    from sidecarlint.loader import YAML_LOADER

    return {
        name: yaml.load(data.decode("utf-8"), Loader=YAML_LOADER) for name, data in sources.items()
    }


def load() -> dict[str, object]:
    """File name → parsed content, for every built-in YAML file."""
    global _data
    if _data is None:
        sources = _sources()
        try:
            with open(BUNDLE, encoding="utf-8") as handle:
                bundle = json.load(handle)
        except (OSError, ValueError):
            bundle = {}
        if isinstance(bundle, dict) and bundle.get("checksum") == _checksum(sources):
            _data = bundle["files"]
        else:
            _data = parse(sources)
    return _data


def write_bundle() -> None:
    sources = _sources()
    bundle = {"checksum": _checksum(sources), "files": parse(sources)}
    with open(BUNDLE, "w", encoding="utf-8") as handle:
        json.dump(bundle, handle, indent=1, ensure_ascii=False)  # key order is meaning
        handle.write("\n")
