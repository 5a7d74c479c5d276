"""The Rust example port (examples/rust-port/) runs its vectors under `cargo test`.

`cargo test` builds the standalone crate into the workspace's target directory
(rust_harness/target: same image / fast_image_resize / ndarray versions and features, so the
compiled dependencies are reused) and must pass every step of every case of its bundle; with the
feature `planted-mistake` (a resize without antialiasing) it must fail, naming the resize step
and its error against the tolerance. The bundle's inputs must be what make_images.py writes, so
the README's regeneration command reproduces them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PORT = ROOT / "examples" / "rust-port"
BUNDLE = PORT / "vectors"
TIMEOUT_S = 1200  # a cold build compiles image and fast_image_resize; a warm one takes seconds


def cargo_test(*extra: str) -> subprocess.CompletedProcess:
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.skip("cargo is not on PATH: the Rust example port cannot be built")
    env = dict(os.environ, CARGO_TARGET_DIR=str(ROOT / "rust_harness" / "target"), RUST_BACKTRACE="0")
    argv = [cargo, "test", "--release", "--quiet", "--locked", "--manifest-path", str(PORT / "Cargo.toml"),
            *extra, "--", "--nocapture"]
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)


def steps_in_bundle() -> int:
    manifest = json.loads((BUNDLE / "manifest.json").read_text())
    return sum(len(case["steps"]) for case in manifest["cases"])


def test_port_passes_every_step_of_its_bundle():
    result = cargo_test()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    total = steps_in_bundle()
    assert total == 10  # 2 cases x 5 steps (decode, resize, crop, normalize, layout)
    assert f"isolated: {total} of {total} steps passed (0 unsupported, 0 failed)" in output, output


def test_planted_mistake_fails_at_the_resize_step():
    result = cargo_test("--features", "planted-mistake")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    failures = re.findall(r"case (\S+) step (\d+) (\w+): max abs error (\d+) > tolerance (\d+) at \[", output)
    # both cases, at the resize step (index 1) only: decode, crop, normalize and layout still pass
    assert sorted(case for case, *_ in failures) == ["torchvision_224__user.chelsea.272x340",
                                                      "torchvision_224__user.zone_plate.312x264"], output
    for _case, index, op, error, tolerance in failures:
        assert (index, op, tolerance) == ("1", "resize", "1")
        assert int(error) > 1
    assert "2 of 10 steps failed (8 passed, 0 unsupported)" in output, output


def test_bundle_inputs_are_the_documented_images(tmp_path):
    """make_images.py rewrites the committed PNGs byte for byte, and they are the bundle's inputs."""
    script = PORT / "make_images.py"
    copy = tmp_path / "make_images.py"
    copy.write_text(script.read_text())
    subprocess.run([sys.executable, str(copy)], check=True, cwd=ROOT, timeout=60)
    committed = {p.name: p.read_bytes() for p in (PORT / "images").glob("*.png")}
    regenerated = {p.name: p.read_bytes() for p in (tmp_path / "images").glob("*.png")}
    assert set(committed) == {"chelsea.272x340.png", "zone_plate.312x264.png"}
    assert regenerated == committed
    manifest = json.loads((BUNDLE / "manifest.json").read_text())
    assert sorted(entry["sha256"] for entry in manifest["inputs"].values()) == \
        sorted(hashlib.sha256(data).hexdigest() for data in committed.values())
    assert {step["op"] for pipeline in manifest["pipelines"].values() for step in pipeline["steps"]} == \
        {"decode", "resize", "crop", "normalize", "layout"}
