"""The file-system rules every reader and writer of strangers' data relies on (conformance.safeio)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from conformance import safeio
from conformance.safeio import (UnsafeData, atomic_write_bytes, check_name, confined, read_limited,
                                replace_dir, sniff, temp_sibling_dir)


@given(st.text(min_size=1, max_size=60))
@settings(max_examples=400, deadline=None)
def test_a_name_that_passes_the_check_stays_one_component_inside_its_root(name):
    """Law: check_name accepts only names that are a single path component inside the root."""
    try:
        check_name(name, "id")
    except UnsafeData:
        return
    assert "/" not in name and "\x00" not in name and name not in (".", "..")
    assert Path("/r", name).parent == Path("/r")


@pytest.mark.parametrize("bad", ["..", ".", "../x", "a/b", "a\x00b", "", ".hidden", "-rf",
                                 "x" * 201, None, 5, "a\nb"])
def test_unsafe_names_are_refused_and_shown(bad):
    with pytest.raises(UnsafeData, match="not a safe name"):
        check_name(bad, "case id")


def test_confined_follows_links_and_refuses_escapes(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "inside").mkdir()
    os.symlink(tmp_path, root / "out")
    assert confined(root, "inside/x.npy") == root / "inside/x.npy"
    for rel in ("../x", "/etc/passwd", "out/x", "inside/../../x", "a\x00b"):
        with pytest.raises(UnsafeData):
            confined(root, rel)


def test_read_limited_refuses_fifos_devices_and_large_files(tmp_path):
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    with pytest.raises(UnsafeData, match="FIFO"):
        read_limited(fifo, 10)  # would block forever if opened for a blocking read
    with pytest.raises(UnsafeData, match="device"):
        read_limited("/dev/zero", 10)
    with pytest.raises(UnsafeData, match="directory"):
        read_limited(tmp_path, 10)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 11)
    with pytest.raises(UnsafeData, match="over the limit of 10"):
        read_limited(big, 10)
    assert read_limited(big, 11) == b"x" * 11
    assert sniff(big, 4) == (b"xxxx", 11)


def test_a_file_that_grows_while_read_is_cut_at_the_limit(tmp_path):
    path = tmp_path / "growing"
    path.write_bytes(b"")
    stop = threading.Event()

    def grow():
        with path.open("ab") as f:
            while not stop.is_set():
                f.write(b"y" * (1 << 16))
                f.flush()

    t = threading.Thread(target=grow)
    t.start()
    try:
        time.sleep(0.05)
        with pytest.raises(UnsafeData, match="limit"):
            read_limited(path, 1 << 20)  # small when opened, or past the limit while read
    finally:
        stop.set()
        t.join()


def test_atomic_write_leaves_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "scores.json"
    target.write_bytes(b"old")

    def broken(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["scores.json"]


@pytest.mark.parametrize("exchange", [True, False])
def test_replace_dir_swaps_whole_and_keeps_the_users_files(tmp_path, monkeypatch, exchange):
    if not exchange:  # the fallback of file systems without RENAME_EXCHANGE
        monkeypatch.setattr(safeio, "_exchange", lambda a, b: False)
    dest = tmp_path / "bundle"
    dest.mkdir()
    (dest / "manifest.json").write_text("old")
    (dest / "notes.txt").write_text("mine")
    new = temp_sibling_dir(dest, "new")
    (new / "manifest.json").write_text("new")
    replace_dir(new, dest, owned=frozenset({"manifest.json"}))
    assert (dest / "manifest.json").read_text() == "new"
    assert (dest / "notes.txt").read_text() == "mine"
    assert sorted(os.listdir(tmp_path)) == ["bundle"]
