"""Pipeline spec: presets expand to explicit knobs, bad input gets a clear, located error."""

import json

import pytest

from conformance.errors import SpecError
from conformance.presets import all_preset_names, onnx_resize_knobs, preset_knobs
from conformance.spec import (Normalize, Resize, load_pipelines, make_step, pipeline_from_dict,
                              pipeline_from_json)


def test_preset_expands_and_user_knobs_override():
    step = make_step({"op": "resize", "preset": "pillow.bicubic", "height": 5, "width": 7, "cubic_a": -0.75})
    assert step.filter == "cubic" and step.arithmetic == "fixed:22" and step.cubic_a == -0.75
    assert step.preset == "pillow.bicubic"


@pytest.mark.parametrize("op", ["resize", "decode", "color", "normalize"])
def test_every_named_preset_builds_a_valid_step(op):
    for name in all_preset_names()[op]:
        raw = {"op": op, "preset": name}
        if op == "resize":
            raw.update(height=3, width=4)
        step = make_step(raw)
        assert step.preset == name


def test_pipeline_json_round_trip_keeps_every_knob():
    p = pipeline_from_dict({"id": "x", "steps": [{"op": "decode", "preset": "opencv"},
                                                 {"op": "resize", "preset": "onnx.cubic.align_corners.antialias",
                                                  "shorter_side": 9},
                                                 {"op": "normalize", "preset": "torchvision.imagenet"},
                                                 {"op": "layout"}]})
    again = pipeline_from_json(json.loads(json.dumps(p.to_json())))
    assert again == p


@pytest.mark.parametrize("raw, field, words", [
    ({"op": "resise"}, "op", "unknown op 'resise'"),
    ({"op": "resize", "height": 3, "width": 3, "filtr": "box"}, "filtr", "did you mean 'filter'"),
    ({"op": "resize", "height": 3, "width": 3, "filter": "bilinear"}, "filter", "not one of"),
    ({"op": "resize", "height": 3}, "height", "together"),
    ({"op": "resize", "height": 3, "width": 3, "shorter_side": 4}, "height", "exactly one"),
    ({"op": "resize", "height": 0, "width": 3}, "height", "1..65536"),
    ({"op": "resize", "height": 3, "width": 3, "arithmetic": "fixed:99"}, "arithmetic", "fixed:BITS"),
    ({"op": "resize", "height": 3, "width": 3, "preset": "pillow.bilinearr"}, "preset", "unknown resize preset"),
    ({"op": "normalize", "std": [0.2, 0.0, 0.1]}, "std", "must not be 0"),
    ({"op": "color", "conversion": "rgb_to_gray", "gray_coefficients": "bt709", "arithmetic": "pillow_fixed"},
     "arithmetic", "only for bt601"),
    ({"op": "decode", "background": [1, 2]}, "background", "three integers"),
])
def test_bad_step_names_the_field(raw, field, words):
    with pytest.raises(SpecError) as e:
        make_step(raw, source="p.toml", index=2)
    assert e.value.field == field
    assert words in str(e.value)
    assert str(e.value).startswith("p.toml, step 2")


def test_pipeline_file_errors_name_the_file(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('id = "bad"\n[[steps]]\nop = "decode"\n[[steps]]\nop = "resize"\nheight = 3\nwidth = 3\nlobes = "x"\n')
    with pytest.raises(SpecError) as e:
        load_pipelines(f)
    assert "bad.toml" in str(e.value) and "step 1" in str(e.value) and "lobes" in str(e.value)
    f.write_text("id = [")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_pipelines(f)
    with pytest.raises(SpecError, match="cannot read"):
        load_pipelines(tmp_path / "missing.json")


def test_structural_rules():
    with pytest.raises(SpecError, match="decode can only be the first"):
        pipeline_from_dict({"id": "x", "steps": [{"op": "crop"}, {"op": "decode"}]})
    with pytest.raises(SpecError, match="layout must be the last"):
        pipeline_from_dict({"id": "x", "steps": [{"op": "layout"}, {"op": "crop"}]})


def test_toml_multi_pipeline_file(tmp_path):
    f = tmp_path / "many.toml"
    f.write_text('''
[[pipelines]]
id = "a"
steps = [{op = "decode", preset = "pillow"}, {op = "resize", preset = "pillow.bilinear", shorter_side = 256}]
[[pipelines]]
id = "b"
steps = [{op = "decode"}, {op = "normalize", preset = "symmetric"}]
''')
    a, b = load_pipelines(f)
    assert a.steps[1].output_size(480, 640) == (256, 341)
    assert b.steps[1].output_range(3) == [[-1.0, 1.0]] * 3


@pytest.mark.parametrize("in_hw, knobs, out_hw", [
    ((480, 640), {"shorter_side": 256}, (256, 341)),          # 341.33 -> 341
    ((333, 500), {"shorter_side": 256, "size_rounding": "round"}, (256, 384)),  # 384.38
    ((100, 250), {"shorter_side": 10, "size_rounding": "round"}, (10, 25)),
    ((100, 125), {"shorter_side": 10, "size_rounding": "round"}, (10, 12)),     # 12.5 -> 12 (half even)
    ((100, 125), {"shorter_side": 10, "size_rounding": "round_half_up"}, (10, 13)),
    ((100, 125), {"shorter_side": 10, "size_rounding": "ceil"}, (10, 13)),
    ((640, 480), {"longer_side": 64, "size_rounding": "floor"}, (64, 48)),
    ((3, 1000), {"longer_side": 10}, (1, 10)),                 # never 0
])
def test_output_size(in_hw, knobs, out_hw):
    assert make_step({"op": "resize", **knobs}).output_size(*in_hw) == out_hw


def test_onnx_family_names():
    assert onnx_resize_knobs("onnx.nearest.asymmetric.floor")["nearest_rounding"] == "floor"
    assert onnx_resize_knobs("onnx.linear.antialias.exclude_outside")["border"] == "renormalize"
    assert onnx_resize_knobs("onnx.nearest.antialias") is None  # ONNX forbids it
    assert onnx_resize_knobs("onnx.linear.floor") is None
    assert onnx_resize_knobs("onnx.linear.half_pixel.half_pixel") is None
    assert preset_knobs("resize", "onnx.cubic")["weights_dtype"] == "float32"


def test_normalize_output_range_names_the_convention():
    unit = make_step({"op": "normalize", "preset": "unit"})
    assert isinstance(unit, Normalize) and unit.output_range(1) == [[0.0, 1.0]]
    assert isinstance(make_step({"op": "resize", "height": 1, "width": 1}), Resize)


def test_tolerance_overrides_need_a_known_target_a_number_and_a_reason():
    base = {"id": "t", "steps": [{"op": "decode"}, {"op": "resize", "height": 2, "width": 2}]}
    ok = pipeline_from_dict({**base, "tolerances": {"resize": {"max_abs": 2, "reason": "measured 2 on x"}}})
    assert ok.tolerances["resize"]["max_abs"] == 2
    for tol, words in [({"crop": {"max_abs": 1, "reason": "r"}}, "neither a step index"),
                       ({"5": {"max_abs": 1, "reason": "r"}}, "neither a step index"),
                       ({"1": {"max_abs": 1}}, "reason"),
                       ({"1": {"max_abs": -1, "reason": "r"}}, ">= 0"),
                       ({"1": {"max_abs": 1, "reason": " "}}, "needs a reason")]:
        with pytest.raises(SpecError, match=words) as e:
            pipeline_from_dict({**base, "tolerances": tol})
        assert e.value.field.startswith("tolerances.")


def test_openvino_resize_knobs_are_checked_before_any_input():
    """arithmetic="openvino" models OpenVINO's Pillow modes only; window="openvino" has no
    half_pixel_symmetric form: both are refused naming the field (no OpenVINO needed)."""
    import numpy as np

    from conformance.reference.pipeline import check_pipeline
    from conformance.reference.resize import resize

    ok = pipeline_from_dict({"id": "ov", "steps": [{"op": "resize", "preset": "openvino.bicubic_pillow",
                                                    "height": 4, "width": 4}]})
    check_pipeline(ok)
    for knobs, field in (({"filter": "lanczos"}, "filter"), ({"pass_order": "vh"}, "pass_order"),
                         ({"cubic_a": -0.75}, "cubic_a")):
        bad = pipeline_from_dict({"id": "ov", "steps": [{"op": "resize", "preset": "openvino.bicubic_pillow",
                                                         "height": 4, "width": 4, **knobs}]})
        with pytest.raises(SpecError) as e:
            check_pipeline(bad)
        assert e.value.field == field
    step = pipeline_from_dict({"id": "ov", "steps": [{"op": "resize", "preset": "openvino.linear", "height": 4,
                                                      "width": 4, "coords": "half_pixel_symmetric"}]}).steps[0]
    with pytest.raises(SpecError, match="no OpenVINO"):
        resize(np.zeros((3, 3, 1), np.uint8), step)
