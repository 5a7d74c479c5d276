"""vectors/default: valid, complete, and reproducible byte for byte from its committed inputs."""

import os
from pathlib import Path

import pytest

from conformance.bundle import Bundle, verify_bundle
from conformance.generate import regenerate_from_bundle
from conformance.plans import default_plan
from conformance.presets import NORMALIZE_PRESETS, COLOR_PRESETS, DECODE_PRESETS, RESIZE_PRESETS, onnx_preset_names
from conformance.spec import STEP_TYPES

DEFAULT = Path(__file__).resolve().parents[1] / "vectors" / "default"
MAX_BYTES = 40_000_000  # the project's budget for the built-in bundle


@pytest.fixture(scope="module")
def bundle():
    return Bundle(DEFAULT)


def test_default_bundle_verifies():
    report = verify_bundle(DEFAULT)
    assert report.ok, report.problems[:10]
    assert not report.warnings, report.warnings[:10]


def test_default_bundle_size():
    total = sum(p.stat().st_size for p in DEFAULT.rglob("*") if p.is_file())
    print(f"vectors/default: {total / 1e6:.1f} MB")
    assert total <= MAX_BYTES


def test_covers_every_op_and_preset_on_several_inputs(bundle):
    inputs_per = {}
    for case in bundle.cases:
        for step in bundle.manifest["pipelines"][case["pipeline"]]["steps"]:
            for key in (step["op"], f"{step['op']}:{step.get('preset')}"):
                inputs_per.setdefault(key, set()).add(case["input"])
    for op in STEP_TYPES:
        assert len(inputs_per.get(op, ())) >= 3, op
    named = ([f"resize:{p}" for p in list(RESIZE_PRESETS) + onnx_preset_names()]
             + [f"decode:{p}" for p in DECODE_PRESETS]
             + [f"color:{p}" for p in COLOR_PRESETS] + [f"normalize:{p}" for p in NORMALIZE_PRESETS])
    missing = [k for k in named if len(inputs_per.get(k, ())) < 3]
    assert not missing, missing
    assert sum(c["expect"] == "error" for c in bundle.cases) >= 6
    # the only cases the reference cannot produce: valid JPEGs of processes it does not
    # implement (12-bit), kept so the bundle records what it cannot check, and lossless JPEGs
    # under the libjpeg-turbo presets whose colour conversion libjpeg refuses (lossless_color)
    skipped = bundle.manifest["skipped"]
    assert skipped and all(s["error"]["type"] == "UnsupportedFeature" for s in skipped), skipped[:3]
    assert {s["input"].split(".")[1] for s in skipped} == {"unsupported", "lossless"}
    assert all("JERR_CONVERSION_NOTIMPL" in s["error"]["message"] for s in skipped
               if s["input"].startswith("jpeg.lossless."))


def test_committed_inputs_are_what_the_corpus_makes_today(bundle):
    committed = {iid: m["sha256"] for iid, m in bundle.manifest["inputs"].items()}
    made = {i.id: i.sha256 for i in default_plan().inputs if i.id in committed}
    assert made == committed


def test_regenerates_byte_for_byte(tmp_path):
    report = regenerate_from_bundle(DEFAULT, tmp_path / "again", jobs=os.cpu_count() or 1)
    assert not report.problems
    assert len(report.skipped) == len(Bundle(DEFAULT).manifest["skipped"])
    committed = {p.relative_to(DEFAULT).as_posix(): p for p in DEFAULT.rglob("*") if p.is_file()}
    again = {p.relative_to(tmp_path / "again").as_posix(): p for p in (tmp_path / "again").rglob("*") if p.is_file()}
    assert sorted(committed) == sorted(again)
    differ = [rel for rel in committed if committed[rel].read_bytes() != again[rel].read_bytes()]
    assert not differ, f"{len(differ)} files differ, e.g. {differ[:5]}"
