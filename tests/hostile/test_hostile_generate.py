"""Hostile input to `generate`: data loss (issue 13, defect 1), unbounded reads (defect 6), bad
pipeline files (defect 7)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from conformance.bundle import BundleWriter
from conformance.encoders.png import encode_png
from conformance.synthetic import gradients

from conftest import tree_snapshot

PIPELINE = """id = "p"
[[steps]]
op = "decode"
preset = "pillow"
[[steps]]
op = "normalize"
dtype = "float32"
scale = 1.0
mean = [0.0]
std = [{std}]
"""


@pytest.fixture
def images(tmp_path) -> Path:
    d = tmp_path / "images"
    d.mkdir()
    (d / "a.png").write_bytes(encode_png(gradients(12, 16), colour_type=2, bit_depth=8))
    return d


def _pipeline(tmp_path, std: str) -> Path:
    p = tmp_path / f"p{abs(hash(std))}.toml"
    p.write_text(PIPELINE.format(std=std))
    return p


def test_force_over_a_bundle_with_an_overflowing_pipeline_loses_nothing(probe, tmp_path, images):
    """Defect 1: std = 1e-300 overflows float32 to inf; the manifest writer used to fail after
    the old bundle's files were removed. Now the case is skipped with the reason, the bundle
    written is whole, and it verifies."""
    out = tmp_path / "bundle"
    probe("generate", "--pipelines", _pipeline(tmp_path, "1.0"), "--images", images, "--out", out,
          "--jobs", "1").clean(0)
    (out / "my-notes.txt").write_text("the user's own file beside the bundle")
    p = probe("generate", "--pipelines", _pipeline(tmp_path, "1e-300"), "--images", images,
              "--out", out, "--force", "--jobs", "1").clean(0)
    assert "non-finite" in p.out and "NonFiniteOutput" in p.out
    assert "Warning" not in p.text  # numpy's overflow RuntimeWarning stays off the terminal
    probe("verify", out).clean(0)
    assert (out / "my-notes.txt").read_text().startswith("the user's own file")
    assert not [x for x in out.parent.iterdir() if x.name.startswith(".bundle.")]  # no temp left


@pytest.mark.parametrize("fail_after", [0, 3])
def test_a_write_that_fails_midway_leaves_the_old_bundle_byte_for_byte(tmp_path, images, monkeypatch,
                                                                        fail_after):
    """Atomic bundle writes: a failure while the new bundle is written (here: the disk fills
    after ``fail_after`` files) leaves the old bundle exactly as it was."""
    from conformance.generate import generate
    from conformance.plans import user_plan

    out = tmp_path / "bundle"
    generate(user_plan((_pipeline(tmp_path, "1.0"),), (images,), with_corpus=False), out)
    before = tree_snapshot(out)
    real = Path.write_bytes
    count = {"n": 0}

    def full_disk(self, data):
        count["n"] += 1
        if count["n"] > fail_after:
            raise OSError(28, "No space left on device", str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(OSError):
        generate(user_plan((_pipeline(tmp_path, "0.5"),), (images,), with_corpus=False), out,
                 overwrite=True)
    monkeypatch.setattr(Path, "write_bytes", real)
    assert tree_snapshot(out) == before
    assert not [x for x in tmp_path.iterdir() if x.name.startswith(".bundle.")]


def test_force_never_replaces_a_directory_that_is_not_a_bundle(probe, tmp_path, images):
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    probe("generate", "--pipelines", _pipeline(tmp_path, "1.0"), "--images", images, "--out", home,
          "--force").one_line_error(2, "not a bundle")
    assert (home / "thesis.tex").read_text() == "years of work"


def test_writer_refuses_before_touching_the_disk_when_json_cannot_hold_a_value(tmp_path):
    out = tmp_path / "b"
    w = BundleWriter(generator={"note": float("inf")})
    with pytest.raises(Exception, match="cannot be written as JSON"):
        w.write(out)
    assert not out.exists() and not list(tmp_path.iterdir())


# -- inputs are checked before they are read whole (defect 6) -------------------------------------

def test_garbage_and_oversized_inputs_are_refused_before_reading(probe, tmp_path, images):
    with (images / "garbage.jpg").open("wb") as f:  # 300 MB of not-an-image, sparse: no disk
        f.truncate(300 << 20)
    with (images / "junk.png").open("wb") as f:  # 100 MB: under the size limit, not an image
        f.truncate(100 << 20)
    big = images / "big.png"
    with big.open("wb") as f:  # a PNG signature, then 3 GB (sparse)
        f.write(b"\x89PNG\r\n\x1a\n")
        f.truncate(3 << 30)
    p = probe("generate", "--pipelines", _pipeline(tmp_path, "1.0"), "--images", images,
              "--out", tmp_path / "out", "--jobs", "1").clean(0)
    assert "3 input file(s) refused" in p.out
    for name, why in (("garbage.jpg", "over the input limit"), ("big.png", "over the input limit"),
                      ("junk.png", "not a PNG, JPEG or WebP")):
        assert any(name in line and why in line for line in p.out.splitlines()), (name, p.out)
    assert p.peak_mb < 300, p.peak_mb  # measured 171 MB (worker processes)
    size = sum(f.stat().st_size for f in (tmp_path / "out").rglob("*") if f.is_file())
    assert size < 1 << 20  # the refused files are not in the bundle


def test_devices_and_fifos_as_inputs_are_refused_not_read(probe, tmp_path, images):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    p = probe("generate", "--pipelines", _pipeline(tmp_path, "1.0"), "--images", images,
              "--images", "/dev/zero", "--images", fifo, "--out", tmp_path / "out", timeout=60).clean(0)
    assert "a device" in p.out and "a FIFO" in p.out


def test_input_size_limit_is_configurable(probe, tmp_path, images):
    p = probe("generate", "--pipelines", _pipeline(tmp_path, "1.0"), "--images", images,
              "--out", tmp_path / "out", "--max-input-mb", "1").clean(0)
    assert "refused" not in p.out  # a 1 KB PNG is under 1 MB
    with (images / "b.png").open("wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.truncate(2 << 20)
    p = probe("generate", "--pipelines", _pipeline(tmp_path, "1.0"), "--images", images,
              "--out", tmp_path / "out2", "--max-input-mb", "1").clean(0)
    assert "over the input limit of 1,048,576" in p.out


# -- pipeline files (defect 7) ---------------------------------------------------------------------

@pytest.mark.parametrize("content, needle", [
    (b"id = \"p\"\n# \xff\xfe latin-1 comment\n", "not UTF-8"),
    (b"[" * 200_000, "not valid JSON"),
    (b"a = " + b"[" * 100_000 + b"]" * 100_000, "not valid TOML"),
])
def test_bad_pipeline_files_are_one_line_naming_the_file(probe, tmp_path, images, content, needle):
    suffix = ".json" if content.startswith(b"[") else ".toml"
    bad = tmp_path / f"bad{suffix}"
    bad.write_bytes(content)
    probe("generate", "--pipelines", bad, "--images", images, "--out", tmp_path / "o").one_line_error(
        2, "bad" + suffix, needle)


def test_a_pipeline_file_that_is_a_fifo_does_not_block(probe, tmp_path, images):
    fifo = tmp_path / "p.toml"
    os.mkfifo(fifo)
    probe("generate", "--pipelines", fifo, "--images", images, "--out", tmp_path / "o",
          timeout=30).one_line_error(2, "p.toml", "FIFO")


@pytest.mark.parametrize("step", ['{op = "resize", preset = "pillow.bilinear", height = 65536, width = 65536}',
                                  '{op = "pad", top = 60000, bottom = 0, left = 60000, right = 0}',
                                  '{op = "letterbox", height = 65536, width = 65536}'])
def test_a_pipeline_asking_for_a_giant_image_is_refused_by_name(probe, tmp_path, images, step):
    bad = tmp_path / "giant.toml"
    bad.write_text(f'id = "giant"\nsteps = [{{op = "decode", preset = "pillow"}}, {step}]\n')
    p = probe("generate", "--pipelines", bad, "--images", images, "--out", tmp_path / "o", "--jobs", "1").clean(0)
    flat = " ".join(re.sub(r"[│┃|]", " ", p.out).split())  # the table folds long messages
    assert "LimitsExceeded" in flat and "over the limit of 67,108,864" in flat, p.out
    assert p.peak_mb < 300, p.peak_mb
