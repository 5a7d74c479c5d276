"""Bundle format v1: deterministic writing, verification of every rule, hostile bundles rejected."""

import io
import json
import pickle

import numpy as np
import pytest

from conformance.bundle import Bundle, BundleWriter, CaseResult, InputFile, load_npy, verify_bundle
from conformance.errors import BundleError
from conformance.spec import pipeline_from_dict


def small_bundle(path, readme=True):
    w = BundleWriter()
    w.add_input(InputFile(id="in.a", data=b"\x89PNG fake bytes", media_type="image/png", tags=("x",)))
    w.add_input(InputFile(id="neg.b", data=b"junk", media_type="application/octet-stream", expect="error"))
    p = pipeline_from_dict({"id": "p.crop", "steps": [{"op": "decode"}, {"op": "crop", "height": 1, "width": 2},
                                                      {"op": "normalize"}]})
    outs = [np.arange(12, dtype=np.uint8).reshape(2, 2, 3), np.zeros((1, 2, 3), np.uint8),
            np.linspace(0, 1, 6, dtype=np.float32).reshape(1, 2, 3)]
    w.add_case(CaseResult("p.crop__in.a", "in.a", p, "ok", outputs=outs))
    w.add_case(CaseResult("p.crop__neg.b", "neg.b", p, "error", error={"type": "DecodeError", "message": "bad"}))
    if readme:
        w.readme = "# provenance\n"
    w.write(path)
    return path


def tree_bytes(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_write_read_verify(tmp_path):
    b = Bundle(small_bundle(tmp_path / "b"))
    case = b.case("p.crop__in.a")
    assert [s["op"] for s in case["steps"]] == ["decode", "crop", "normalize"]
    assert b.expected(case["steps"][2]).dtype == np.float32
    assert case["steps"][0]["tolerance"] == {"metric": "max_abs", "max_abs": 0,
                                             "reason": case["steps"][0]["tolerance"]["reason"]}
    assert b.case("p.crop__neg.b")["error"]["type"] == "DecodeError"
    assert b.input_bytes("in.a") == b"\x89PNG fake bytes"
    r = verify_bundle(tmp_path / "b")
    assert r.ok and r.files_checked == 3 + 2 + 1 and not r.warnings


def test_writing_twice_gives_identical_bytes(tmp_path):
    assert tree_bytes(small_bundle(tmp_path / "1")) == tree_bytes(small_bundle(tmp_path / "2"))
    manifest = (tmp_path / "1" / "manifest.json").read_text()
    assert str(tmp_path) not in manifest  # no absolute paths


def test_tampered_file_is_detected(tmp_path):
    root = small_bundle(tmp_path / "b")
    f = next((root / "expected").rglob("1_crop.npy"))
    data = bytearray(f.read_bytes())
    data[-1] ^= 1
    f.write_bytes(bytes(data))
    r = verify_bundle(root)
    assert not r.ok and any("SHA-256" in p and "1_crop.npy" in p for p in r.problems)


def _edit_manifest(root, fn):
    m = json.loads((root / "manifest.json").read_text())
    fn(m)
    (root / "manifest.json").write_text(json.dumps(m))


@pytest.mark.parametrize("bad", ["../outside.npy", "/etc/passwd", "expected/../../x.npy", "a\\b.npy"])
def test_paths_must_stay_inside(tmp_path, bad):
    root = small_bundle(tmp_path / "b")
    _edit_manifest(root, lambda m: m["cases"][0]["steps"][0].__setitem__("output", bad))
    r = verify_bundle(root)
    assert not r.ok


def test_path_through_symlink_is_rejected(tmp_path):
    root = small_bundle(tmp_path / "b")
    (tmp_path / "secret.npy").write_bytes(b"x")
    (root / "link").symlink_to(tmp_path)
    _edit_manifest(root, lambda m: m["cases"][0]["steps"][0].__setitem__("output", "link/secret.npy"))
    r = verify_bundle(root)
    assert any("leaves the bundle" in p for p in r.problems)


def test_pickled_npy_is_refused(tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(BundleError, match="not a valid .npy"):
        load_npy(buf.getvalue(), where="x.npy")
    assert b"evil" in pickle.dumps({"evil": 1})


def test_dtype_and_shape_must_match_the_manifest(tmp_path):
    root = small_bundle(tmp_path / "b")
    _edit_manifest(root, lambda m: m["cases"][0]["steps"][1].__setitem__("shape", [9, 9, 9]))
    r = verify_bundle(root)
    assert any("declares" in p for p in r.problems)


def test_schema_violations_are_named(tmp_path):
    root = small_bundle(tmp_path / "b")
    _edit_manifest(root, lambda m: m["cases"][0]["steps"][0].__setitem__("dtype", "object"))
    with pytest.raises(BundleError, match="schema at cases/0/steps/0/dtype"):
        Bundle(root)
    _edit_manifest(root, lambda m: m.__setitem__("version", 2))
    with pytest.raises(BundleError, match="version 2 is not supported"):
        Bundle(root)
    (root / "manifest.json").write_text("{")
    assert "not valid JSON" in verify_bundle(root).problems[0]


def test_unlisted_files_are_warned_about(tmp_path):
    root = small_bundle(tmp_path / "b")
    (root / "stray.txt").write_text("?")
    r = verify_bundle(root)
    assert r.ok and r.warnings == ["file not listed in the manifest: stray.txt"]


def test_duplicate_case_names_are_an_error():
    w = BundleWriter()
    w.add_input(InputFile(id="i", data=b"x", media_type="image/png"))
    p = pipeline_from_dict({"id": "p", "steps": [{"op": "decode"}]})
    w.add_case(CaseResult("c", "i", p, "ok", outputs=[np.zeros((1, 1, 1), np.uint8)]))
    with pytest.raises(BundleError, match="duplicate case id"):
        w.add_case(CaseResult("c", "i", p, "ok", outputs=[np.zeros((1, 1, 1), np.uint8)]))


def test_refuses_to_overwrite_a_non_empty_directory(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "keep.txt").write_text("mine")
    with pytest.raises(BundleError, match="not empty"):
        small_bundle(tmp_path / "b")


def test_manifest_records_each_inputs_headers_and_that_icc_is_not_applied():
    """T.81-era metadata a porter needs to know about: size, EXIF orientation as stored, and an
    embedded ICC profile, which the reference keeps but never applies."""
    from conformance.bundle import Bundle

    inputs = Bundle("vectors/default").manifest["inputs"]
    icc = inputs["jpeg.pillow.q90.420.seq.icc.gradients.12x20"]["header"]
    assert icc["format"] == "jpeg" and (icc["height"], icc["width"]) == (12, 20)
    assert "not applied" in icc["icc_profile"]
    assert inputs["png.exif6.6x10"]["header"]["orientation"] == 6
    assert inputs["jpeg.pillow.q90.420.seq.exif6.gradients.12x20"]["header"]["orientation"] == 6
    assert inputs["jpeg.pillow.q90.420.prog.chelsea.75x112"]["header"]["interlaced"] is True
