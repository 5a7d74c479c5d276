"""The JPEG decode table (conformance.report.jpeg_decode): grouping and aggregates on a hand-built
manifest and Scores whose numbers are computed by hand, the manifest facts of the default bundle,
and the table in the terminal, JSON and HTML reports."""

from __future__ import annotations

import hashlib
import io
import json
import math
from pathlib import Path

import jsonschema
import pytest
from rich.cells import cell_len
from rich.console import Console

from conformance.bundle import json_bytes
from conformance.report.html import render_html
from conformance.report.jpeg_decode import (CUSTOM, OTHER, JpegFacts, decode_preset_of,
                                            display_rows, jpeg_decode_groups, jpeg_decode_table,
                                            models_sentence, preset_models, subsampling_of)
from conformance.report.json_report import scores_document, validate
from conformance.report.terminal import render_terminal
from conformance.score import CaseScore, Scores, StepScore
from conformance.spec import make_step

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MANIFEST = ROOT / "vectors" / "default" / "manifest.json"

TOL0 = {"metric": "max_abs", "max_abs": 0, "reason": "exact", "source": "bundle"}
TOL1 = {"metric": "max_abs", "max_abs": 1, "reason": "one LSB", "source": "bundle"}


def _decode(**overrides) -> dict:
    """A decode step as a bundle stores it: every knob expanded."""
    return make_step({"op": "decode", **overrides}).knobs()


def _jpeg(tags, expect="ok"):
    return {"expect": expect, "tags": ["jpeg", *tags], "header": {"format": "jpeg"}}


MANIFEST = {
    "inputs": {
        "j420a": _jpeg(["jpeg_420"]), "j420b": _jpeg(["jpeg_420"]), "j444": _jpeg(["jpeg_444"]),
        "jgray": _jpeg(["gray"]), "jnotag": _jpeg([]),
        "png": {"expect": "ok", "tags": ["png", "gray"], "header": {"format": "png"}},
        "neg.noheader": {"expect": "error", "tags": ["jpeg_negative"], "header": None},
        "neg.jpeg": _jpeg(["jpeg_negative"], expect="error"),
    },
    "pipelines": {
        "p.pillow": {"id": "p.pillow", "steps": [_decode(preset="pillow")]},
        "p.nearest": {"id": "p.nearest", "steps": [_decode(preset="libjpeg-turbo", upsampling="nearest")]},
        "p.custom": {"id": "p.custom", "steps": [_decode(output="gray")]},
        "p.resize": {"id": "p.resize", "steps": [_decode(preset="image"),
                                                 {"op": "resize", "preset": "pillow.bilinear"}]},
    },
}


def _case(pipeline, inp, shapes, expect="ok"):
    return {"id": f"{pipeline}__{inp}", "pipeline": pipeline, "input": inp, "expect": expect,
            "steps": [{"index": i, "op": op, "shape": shape} for i, (op, shape) in enumerate(shapes)]}


MANIFEST["cases"] = [
    _case("p.pillow", "j420a", [("decode", [2, 2, 3])]),    # 12 elements
    _case("p.pillow", "j420b", [("decode", [4, 4, 3])]),    # 48 elements
    _case("p.pillow", "j444", [("decode", [2, 2, 3])]),
    _case("p.pillow", "png", [("decode", [2, 2, 3])]),
    _case("p.pillow", "neg.noheader", [], expect="error"),
    _case("p.pillow", "neg.jpeg", [], expect="error"),
    _case("p.nearest", "j444", [("decode", [2, 2, 3])]),
    _case("p.custom", "jnotag", [("decode", [2, 2, 1])]),
    _case("p.custom", "jgray", [("decode", [2, 2, 1])]),
    _case("p.resize", "j420a", [("decode", [2, 2, 3]), ("resize", [1, 1, 3])]),
]


def _m(max_abs, mean_abs, nonfinite=0):
    return {"max_abs": max_abs, "mean_abs": mean_abs, "rmse": mean_abs, "over_tolerance": 0.0,
            "nonfinite": nonfinite, "worst": {"index": [0, 0, 0], "expected": 0.0, "got": 0.0}}


def _step(verdict, metrics=None, tol=TOL0, index=0, op="decode", message=""):
    return StepScore(index, op, verdict, message, None, tol if metrics else None, metrics)


def _cs(harness, mode, pipeline, inp, steps, expect="ok"):
    return CaseScore(harness, mode, f"{pipeline}__{inp}", pipeline, inp, expect, steps)


def _scores(bundle: str = "/nonexistent/bundle", sha: str = "ab" * 32) -> Scores:
    """Harness "zeta" isolated + chained, harness "alpha" isolated; run order isolated, chained."""
    cases = [
        # zeta isolated, pillow 4:2:0: 3 > 0 (fail) on 12 elements, 1 > 0 (xfail) on 48
        _cs("zeta", "isolated", "p.pillow", "j420a", [_step("fail", _m(3.0, 0.5))]),
        _cs("zeta", "isolated", "p.pillow", "j420b", [_step("xfail", _m(1.0, 0.25))]),
        # left out: unsupported; a PNG input; negatives (no header; rejected or lenient)
        _cs("zeta", "isolated", "p.pillow", "j444", [_step("unsupported", message="no call")]),
        _cs("zeta", "isolated", "p.pillow", "png", [_step("fail", _m(9.0, 9.0))]),
        _cs("zeta", "isolated", "p.pillow", "neg.noheader", [_step("pass", message="rejected")], "error"),
        _cs("zeta", "isolated", "p.pillow", "neg.jpeg", [_step("lenient", message="decoded")], "error"),
        # libjpeg-turbo with nearest upsampling: its own row; within a tolerance of 1
        _cs("zeta", "isolated", "p.nearest", "j444", [_step("pass", _m(1.0, 0.125), TOL1)]),
        _cs("zeta", "isolated", "p.custom", "jnotag", [_step("pass", _m(0.0, 0.0))]),
        _cs("zeta", "isolated", "p.custom", "jgray", [_step("error", message="raised")]),
        # image preset 4:2:0: the decode step counts, the resize step does not
        _cs("zeta", "isolated", "p.resize", "j420a", [_step("xfail", _m(67.0, 1.5)),
                                                      _step("fail", _m(200.0, 50.0), index=1, op="resize")]),
        # chained: a shape mismatch (fail without metrics) is left out; one step left
        _cs("zeta", "chained", "p.pillow", "j420a", [_step("fail", message="shape [1], expected [2]")]),
        _cs("zeta", "chained", "p.pillow", "j420b", [_step("pass", _m(0.0, 0.0))]),
        _cs("alpha", "isolated", "p.pillow", "j444", [_step("pass", _m(0.0, 0.0))]),
    ]
    return Scores("/nonexistent/results", bundle, sha, {"zeta": {"kind": "builtin"},
                                                        "alpha": {"kind": "builtin"}},
                  ["isolated", "chained"], cases)


def _rows(groups):
    return [(g.harness, g.mode, g.preset_label, g.subsampling) for g in groups]


# -- grouping and aggregates ----------------------------------------------------------------------

def test_groups_keys_order_and_exclusions():
    groups = jpeg_decode_groups(_scores(), JpegFacts.from_manifest(MANIFEST))
    assert _rows(groups) == [
        ("alpha", "isolated", "pillow", "4:4:4"),
        ("zeta", "isolated", "image", "4:2:0"),
        ("zeta", "isolated", "libjpeg-turbo +upsampling=nearest", "4:4:4"),
        ("zeta", "isolated", "pillow", "4:2:0"),
        ("zeta", "isolated", CUSTOM, OTHER),       # custom after every named preset
        ("zeta", "chained", "pillow", "4:2:0"),    # run order: isolated before chained
    ]
    assert groups[2].preset == "libjpeg-turbo" and groups[2].overrides == {"upsampling": "nearest"}
    assert [g.steps for g in groups] == [1, 1, 1, 2, 1, 1]


def test_aggregates_of_two_steps_weight_the_mean_by_elements():
    groups = jpeg_decode_groups(_scores(), JpegFacts.from_manifest(MANIFEST))
    g = next(g for g in groups if (g.harness, g.mode, g.preset, g.subsampling)
             == ("zeta", "isolated", "pillow", "4:2:0"))
    assert g.max_abs == 3.0
    assert g.mean_abs == pytest.approx((0.5 * 12 + 0.25 * 48) / 60)  # 0.3, not (0.5 + 0.25) / 2
    assert g.over_tolerance == 2
    assert {v: n for v, n in g.verdicts.items() if n} == {"fail": 1, "xfail": 1}
    nearest = next(g for g in groups if g.overrides)
    assert (nearest.max_abs, nearest.over_tolerance) == (1.0, 0), "1 is within a tolerance of 1"
    image = next(g for g in groups if g.preset == "image")
    assert (image.max_abs, image.mean_abs) == (67.0, 1.5), "the resize step is not a decode step"


def test_mean_falls_back_to_step_means_without_shapes_and_excludes_nonfinite():
    manifest = {**MANIFEST, "cases": [c for c in MANIFEST["cases"] if c["id"] != "p.pillow__j420b"]}
    g = next(g for g in jpeg_decode_groups(_scores(), JpegFacts.from_manifest(manifest))
             if (g.mode, g.preset, g.subsampling) == ("isolated", "pillow", "4:2:0"))
    assert g.mean_abs == pytest.approx((0.5 + 0.25) / 2)

    scores = _scores()
    scores.cases[0].steps[0].metrics = _m(None, 0.5, nonfinite=4)  # 8 finite of 12 elements
    g = next(g for g in jpeg_decode_groups(scores, JpegFacts.from_manifest(MANIFEST))
             if (g.mode, g.preset, g.subsampling) == ("isolated", "pillow", "4:2:0"))
    assert math.isinf(g.max_abs) and g.over_tolerance == 2
    assert g.mean_abs == pytest.approx((0.5 * 8 + 0.25 * 48) / 56)
    assert g.to_json()["max_abs"] is None


def test_subsampling_and_preset_facts():
    assert subsampling_of(["jpeg", "jpeg_q90", "jpeg_440"]) == "4:4:0"
    assert subsampling_of(["jpeg", "adobe_rgb"]) == "rgb" and subsampling_of(["jpeg"]) == OTHER
    assert decode_preset_of(_decode(preset="pillow")) == ("pillow", ())
    assert decode_preset_of(_decode(preset="libjpeg-turbo", idct="float")) == \
        ("libjpeg-turbo", (("idct", '"float"'),))
    assert decode_preset_of(_decode()) == (CUSTOM, ())
    assert decode_preset_of({"op": "decode", "preset": "unknown.here"}) == ("unknown.here", ())
    facts = JpegFacts.from_manifest(MANIFEST)
    assert "png" not in facts.subsampling and "neg.noheader" not in facts.subsampling


def test_preset_models_come_from_the_presets_knobs():
    assert preset_models(["pillow", "opencv", "opencv.gray", "libjpeg-turbo", "image", CUSTOM]) == [
        ("libjpeg-turbo", ["libjpeg-turbo", "opencv", "opencv.gray", "pillow"]),
        ("zune-jpeg (Rust image crate)", ["image"])]
    groups = jpeg_decode_groups(_scores(), JpegFacts.from_manifest(MANIFEST))
    # the overridden libjpeg-turbo row models neither decoder
    assert models_sentence(groups) == ("decode preset pillow models libjpeg-turbo; "
                                       "preset image models zune-jpeg (Rust image crate)")


def test_display_rows_show_repeated_keys_once():
    groups = jpeg_decode_groups(_scores(), JpegFacts.from_manifest(MANIFEST))
    shown = [(r.harness, r.mode, r.preset, r.new_block) for r in display_rows(groups)]
    assert shown[:3] == [("alpha", "isolated", "pillow", True), ("zeta", "isolated", "image", True),
                         ("", "", "libjpeg-turbo +upsampling=nearest", False)]
    assert shown[-1] == ("zeta", "chained", "pillow", True)


def test_default_bundle_tags_map_every_positive_jpeg_to_a_subsampling():
    facts = JpegFacts.from_manifest(json.loads(DEFAULT_MANIFEST.read_bytes()))
    manifest = json.loads(DEFAULT_MANIFEST.read_bytes())
    positive = {i for i, inp in manifest["inputs"].items()
                if (inp.get("header") or {}).get("format") == "jpeg" and inp["expect"] == "ok"
                and "jpeg_unsupported" not in inp["tags"]}
    assert len(positive) > 40
    assert {facts.subsampling[i] for i in positive} == {"4:4:4", "4:2:2", "4:4:0", "4:2:0", "4:1:1",
                                                         "gray", "rgb", "cmyk"}
    assert not [i for i in positive if facts.subsampling[i] == OTHER]
    assert {p for p, ov in facts.presets.values() if not ov} >= {"pillow", "opencv", "image"}


def test_default_bundle_files_give_the_subsampling_their_tags_say():
    """Read from each file's frame header (what a user's bundle gets: its inputs carry no
    subsampling tag), the subsampling of every positive default-bundle JPEG is the corpus tag's."""
    from conformance.report.jpeg_decode import bundle_input_reader

    manifest = json.loads(DEFAULT_MANIFEST.read_bytes())
    from_tags = JpegFacts.from_manifest(manifest).subsampling
    from_files = JpegFacts.from_manifest(manifest, bundle_input_reader(DEFAULT_MANIFEST.parent)).subsampling
    positive = {c["input"] for c in manifest["cases"] if c["expect"] == "ok"
                and manifest["inputs"][c["input"]]["expect"] == "ok"}  # not a repaired damaged file
    checked = {i: from_files[i] for i in from_tags if i in positive}
    assert len(checked) > 40 and checked == {i: from_tags[i] for i in checked}


# -- reading the bundle -----------------------------------------------------------------------------

def _bundle(tmp_path: Path) -> tuple[str, str]:
    root = tmp_path / "bundle"
    root.mkdir()
    raw = json_bytes(MANIFEST)
    (root / "manifest.json").write_bytes(raw)
    return str(root), hashlib.sha256(raw).hexdigest()


def test_table_reads_the_run_manifest_only(tmp_path):
    bundle, sha = _bundle(tmp_path)
    assert len(jpeg_decode_table(_scores(bundle, sha)).groups) == 6
    changed = jpeg_decode_table(_scores(bundle, "0" * 64))
    assert changed.groups is None and "changed since the run" in changed.problem
    missing = jpeg_decode_table(_scores())
    assert missing.groups is None and missing.to_json() is None and "cannot be read" in missing.problem


# -- the reports ------------------------------------------------------------------------------------

class _Stream(io.StringIO):
    encoding = "utf-8"


def test_terminal_table(tmp_path):
    stream = _Stream()
    render_terminal(_scores(*_bundle(tmp_path)), Console(file=stream, width=100, force_terminal=False))
    out = stream.getvalue()
    assert max(cell_len(line) for line in out.splitlines()) <= 100
    table = out[out.index("JPEG decode by subsampling"):]
    row = next(line for line in table.splitlines() if "4:2:0" in line and " 2 " in line)
    assert row.split()[-6:] == ["2", "3", "0.3", "2", "1✗", "1x"]  # steps max mean >tol verdicts
    assert "preset image models zune-jpeg" in table
    assert out.index("JPEG decode by subsampling") < out.index("worst cases")


def test_terminal_without_jpeg_steps_has_no_table(tmp_path):
    bundle, sha = _bundle(tmp_path)
    scores = _scores(bundle, sha)
    scores.cases = [c for c in scores.cases if c.input == "png"]
    stream = _Stream()
    render_terminal(scores, Console(file=stream, width=100, force_terminal=False))
    assert "JPEG decode" not in stream.getvalue()


def test_json_key_matches_the_schema(tmp_path):
    bundle, sha = _bundle(tmp_path)
    doc = scores_document(_scores(bundle, sha))
    validate(doc)
    row = doc["jpeg_decode"][3]
    assert row == {"harness": "zeta", "mode": "isolated", "preset": "pillow", "overrides": {},
                   "subsampling": "4:2:0", "steps": 2, "max_abs": 3.0, "mean_abs": 0.3,
                   "over_tolerance": 2, "verdicts": {"pass": 0, "fail": 1, "xfail": 1,
                                                     "unsupported": 0, "error": 0, "skipped": 0,
                                                     "lenient": 0}}
    assert doc["jpeg_decode"][2]["overrides"] == {"upsampling": "nearest"}
    bad = json.loads(json.dumps(doc))
    bad["jpeg_decode"][0]["subsampling"] = "4:2:1"
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)
    missing = scores_document(_scores())
    assert missing["jpeg_decode"] is None
    validate(missing)


def test_html_section(tmp_path):
    html = render_html(_scores(*_bundle(tmp_path)))
    section = html[html.index('<section id="jpeg-decode">'):]
    section = section[:section.index("</section>")]
    assert section.count("<tr") == 1 + 6  # header + one row per group
    assert "libjpeg-turbo +upsampling=nearest" in section
    assert '<td class="n">0.3</td>' in section and "zune-jpeg" in section
    assert 'href="#jpeg-decode"' in html
    missing = render_html(_scores())
    assert "the bundle manifest cannot be read" in missing
