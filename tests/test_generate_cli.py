"""Generation and the CLI: progress, skipped cases, negative vectors, clear errors, exit codes."""

import json

import numpy as np
from click.testing import CliRunner

from conformance.bundle import Bundle, InputFile, verify_bundle
from conformance.cli import cli
from conformance.encoders.png import encode_png, not_an_image
from conformance.errors import SpecError
from conformance.generate import Plan, generate
from conformance.spec import pipeline_from_dict


def _png(h=6, w=9):
    return encode_png(np.arange(h * w * 3, dtype=np.uint8).reshape(h, w, 3), colour_type=2, bit_depth=8)


def test_one_bad_input_does_not_stop_the_run(tmp_path):
    p = pipeline_from_dict({"id": "p", "steps": [{"op": "decode", "preset": "pillow"},
                                                 {"op": "crop", "height": 4, "width": 4}]})
    inputs = [InputFile(id="good", data=_png(), media_type="image/png", tags=("main",)),
              InputFile(id="tiny", data=_png(2, 2), media_type="image/png", tags=("main",)),
              InputFile(id="jpeg", data=b"\xff\xd8\xff\xe0" + b"\0" * 20, media_type="image/jpeg", tags=("main",)),
              InputFile(id="neg", data=not_an_image(), media_type="application/octet-stream",
                        expect="error", tags=("main",))]
    report = generate(Plan(inputs=inputs, pipelines=[p], selection={"p": ("main", "negative")}),
                      tmp_path / "b", jobs=2)
    assert report.cases_written == 2 and report.negative_cases == 1 and not report.problems
    skipped = {s["case"]: s["type"] for s in report.skipped}
    assert skipped == {"p__tiny": "SpecError", "p__jpeg": "DecodeError"}  # APP0 of length 0
    b = Bundle(tmp_path / "b")
    assert {c["id"] for c in b.cases} == {"p__good", "p__neg"}
    assert b.case("p__neg")["error"]["type"] == "DecodeError"
    assert len(b.manifest["skipped"]) == 2
    assert verify_bundle(tmp_path / "b").ok


def test_negative_input_that_decodes_is_a_problem(tmp_path):
    p = pipeline_from_dict({"id": "p", "steps": [{"op": "decode"}]})
    inputs = [InputFile(id="liar", data=_png(), media_type="image/png", expect="error", tags=("negative",))]
    report = generate(Plan(inputs=inputs, pipelines=[p], selection={"p": ("negative",)}), tmp_path / "b")
    assert report.problems and "was decoded" in report.problems[0]


def test_cli_generate_user_images_show_verify(tmp_path):
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a b.png").write_bytes(_png(12, 10))
    (tmp_path / "p.toml").write_text(
        'id = "small"\nsteps = [{op = "decode", preset = "opencv"}, '
        '{op = "resize", preset = "opencv.area", height = 5, width = 4}, {op = "layout"}]\n')
    r = CliRunner().invoke(cli, ["generate", "--pipelines", str(tmp_path / "p.toml"), "--images",
                                 str(tmp_path / "imgs"), "--out", str(tmp_path / "b"), "--jobs", "1"])
    assert r.exit_code == 0, r.output
    words = " ".join(r.output.split())  # rich wraps long tmp paths at the terminal width
    assert "wrote" in words and "1 cases" in words
    r = CliRunner().invoke(cli, ["verify", str(tmp_path / "b")])
    assert r.exit_code == 0 and "OK" in r.output
    r = CliRunner().invoke(cli, ["show", str(tmp_path / "b")])
    assert r.exit_code == 0 and "user.a_b" in r.output
    r = CliRunner().invoke(cli, ["show", str(tmp_path / "b"), "small__user.a_b", "--json"])
    entry = json.loads(r.output)
    assert [s["shape"] for s in entry["steps"]] == [[12, 10, 3], [5, 4, 3], [1, 3, 5, 4]]
    # tamper, then verify fails with exit 1 and names the file
    f = next((tmp_path / "b" / "expected").rglob("1_resize.npy"))
    f.write_bytes(f.read_bytes()[:-1] + b"\x00")
    r = CliRunner().invoke(cli, ["verify", str(tmp_path / "b")])
    assert r.exit_code == 1 and "1_resize.npy" in r.output


def test_cli_bad_pipeline_is_one_clear_line(tmp_path):
    import subprocess
    import sys
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "x"\n[[steps]]\nop = "decode"\n[[steps]]\nop = "resize"\nfiltr = "box"\nheight = 2\nwidth = 2\n')
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "generate", "--pipelines", str(bad),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "bad.toml, step 1, field 'filtr': unknown knob" in proc.stderr


def test_cli_presets_lists_every_family():
    r = CliRunner().invoke(cli, ["presets", "resize"])
    assert r.exit_code == 0
    for name in ("pillow.bilinear", "opencv.area", "image.lanczos3", "onnx.cubic.half_pixel.antialias"):
        assert name in r.output


def test_cli_regenerate_check(tmp_path):
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "x.png").write_bytes(_png(9, 11))
    (tmp_path / "p.json").write_text(json.dumps({"id": "p", "steps": [
        {"op": "decode", "preset": "pillow"}, {"op": "resize", "preset": "pillow.lanczos", "height": 4, "width": 5}]}))
    runner = CliRunner()
    r = runner.invoke(cli, ["generate", "--pipelines", str(tmp_path / "p.json"), "--images", str(tmp_path / "imgs"),
                            "--out", str(tmp_path / "b"), "-j", "1"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["regenerate", str(tmp_path / "b"), "--out", str(tmp_path / "again"), "--check", "-j", "1"])
    assert r.exit_code == 0 and "identical" in r.output, r.output
    # an expected output that the reference does not produce is caught (and the manifest with it)
    f = next((tmp_path / "b" / "expected").rglob("1_resize.npy"))
    f.write_bytes(f.read_bytes()[:-1] + bytes([f.read_bytes()[-1] ^ 1]))
    r = runner.invoke(cli, ["regenerate", str(tmp_path / "b"), "--out", str(tmp_path / "again"), "--check", "-j", "1"])
    assert r.exit_code == 1 and "1_resize.npy" in r.output


def test_undefined_knob_combination_is_refused_before_any_case_runs(tmp_path):
    (tmp_path / "p.toml").write_text(
        'id = "odd"\nsteps = [{op = "decode"}, {op = "resize", preset = "opencv.cubic", height = 4, width = 4, '
        'cubic_a = -0.5}]\n')
    r = CliRunner().invoke(cli, ["generate", "--pipelines", str(tmp_path / "p.toml"), "--out", str(tmp_path / "b")])
    assert r.exit_code != 0
    assert isinstance(r.exception, SpecError)
    assert "pipeline odd, step 1, field 'cubic_a'" in str(r.exception)
    assert not (tmp_path / "b").exists()
