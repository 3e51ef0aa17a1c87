"""The start-up cache of the built-in rule files: written once, read back instead of
parsing, ignored when corrupt, and never more than a few files."""

from __future__ import annotations

import os

import pytest
import yaml

from sidecarlint import cache


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("SIDECARLINT_NO_CACHE", raising=False)
    monkeypatch.setattr(cache, "_memo", None)
    return tmp_path / "sidecarlint"


def _fresh_read():
    cache._memo = None
    return cache.builtin_yaml()


def test_written_once_then_read_without_parsing(cache_home, monkeypatch):
    parsed = _fresh_read()
    assert "sidecars.yaml" in parsed and "grace-period-too-short.yaml" in parsed
    assert len(list(cache_home.glob("builtin-*.marshal"))) == 1

    def no_parsing(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(yaml, "load", no_parsing)
    assert _fresh_read() == parsed


def test_a_corrupt_cache_file_is_parsed_again(cache_home):
    parsed = _fresh_read()
    (path,) = cache_home.glob("builtin-*.marshal")
    path.write_bytes(b"\x00garbage")
    assert _fresh_read() == parsed
    assert path.read_bytes() != b"\x00garbage"  # rewritten


def test_old_cache_files_are_pruned(cache_home):
    cache_home.mkdir()
    for index in range(20):  # left behind by earlier versions
        old = cache_home / f"builtin-old{index:02}.marshal"
        old.write_bytes(b"")
        os.utime(old, ns=(index * 10**9, index * 10**9))
    _fresh_read()
    kept = sorted(p.name for p in cache_home.glob("builtin-*.marshal"))
    assert len(kept) == cache.KEEP
    # the new file and the newest old ones survive
    assert [n for n in kept if n.startswith("builtin-old")] == [
        f"builtin-old{index:02}.marshal" for index in range(20 - cache.KEEP + 1, 20)
    ]
