"""``conformance import`` and ``conformance generate --model-config``: files written, refusals,
one-line errors with exit 2 naming the file and the key."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from conformance.encoders.png import encode_png
from conformance.spec import load_pipelines

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "models"
CLIP = EXAMPLES / "hf_clip-vit-base-patch32.json"


def _main(args: list[str], monkeypatch, capsys) -> tuple[int, str, str]:
    """``conformance.cli.main`` in process: (exit code, stdout, stderr)."""
    from conformance.cli import main

    monkeypatch.setattr(sys, "argv", ["conformance", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def _one_error_line(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    for w in words:
        assert w in lines[0], (w, err)


def test_import_writes_a_loadable_pipeline_and_refuses_to_overwrite(tmp_path, monkeypatch, capsys):
    out = tmp_path / "clip.toml"
    code, _, err = _main(["import", "hf", str(CLIP), "--backend", "pil", "--out", str(out)],
                         monkeypatch, capsys)
    assert code == 0, err
    (pipeline,) = load_pipelines(out)
    assert pipeline.id == "hf_clip-vit-base-patch32.pil"
    assert [s.op for s in pipeline.steps] == ["decode", "resize", "crop", "normalize", "layout"]
    assert out.read_text() == (EXAMPLES / "hf_clip-vit-base-patch32.pil.toml").read_text()
    before = out.read_bytes()
    code, _, err = _main(["import", "hf", str(CLIP), "--out", str(out)], monkeypatch, capsys)
    _one_error_line(code, err, str(out), "--force")
    assert out.read_bytes() == before
    code, _, err = _main(["import", "hf", str(CLIP), "--out", str(out), "--force", "--id", "my-clip"],
                         monkeypatch, capsys)
    assert code == 0 and load_pipelines(out)[0].id == "my-clip"
    assert "torchvision" in out.read_text()  # the default backend


def test_out_that_is_a_folder_or_has_no_folder_is_one_line(tmp_path, monkeypatch, capsys):
    """A folder as --out (with or without --force) and a missing parent folder: one line naming
    the path the user gave (never the temporary sibling's name), exit 2, nothing written."""
    for args in ((str(tmp_path),), (str(tmp_path), "--force"), (str(tmp_path / "no" / "x.toml"),)):
        code, _, err = _main(["import", "hf", str(CLIP), "--out", *args], monkeypatch, capsys)
        _one_error_line(code, err, args[0])
        assert ".tmp" not in err
    assert list(tmp_path.iterdir()) == []


def test_import_to_stdout_and_warnings_name_the_key(tmp_path, monkeypatch, capsys):
    code, out, err = _main(["import", "hf", str(EXAMPLES / "hf_beit-base-patch16-224.json"), "--backend",
                            "pil", "--out", "-"], monkeypatch, capsys)
    assert code == 0, err
    assert out == (EXAMPLES / "hf_beit-base-patch16-224.pil.toml").read_text()
    assert "warning: hf_beit-base-patch16-224.json: reduce_labels: ignored" in err


@pytest.mark.parametrize("content,words", [
    ('{"image_processor_type": "CLIPImageProcessor", "do_thumbnail": true}', ["do_thumbnail", "unknown key"]),
    ('{"image_processor_type": "LlavaNextImageProcessor"}', ["image_processor_type", "unsupported class"]),
    ('{"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 224, "longest_edge": 300}}',
     ["size", "unsupported size form"]),
    ('{"image_processor_type": "CLIPImageProcessor", "resample": "bicubic"}', ["resample"]),
    ('{"image_processor_type": "CLIPImageProcessor", ', ["not valid JSON"]),
    ('[1, 2]', ["JSON object"]),
])
def test_malformed_or_unsupported_config_is_one_line_exit_2(tmp_path, monkeypatch, capsys, content, words):
    cfg = tmp_path / "preprocessor_config.json"
    cfg.write_text(content)
    code, _, err = _main(["import", "hf", str(cfg), "--out", str(tmp_path / "p.toml")], monkeypatch, capsys)
    _one_error_line(code, err, str(cfg), *words)
    assert not (tmp_path / "p.toml").exists()


def test_option_of_another_format_is_refused(tmp_path, monkeypatch, capsys):
    code, _, err = _main(["import", "hf", str(CLIP), "--test-size", "--out", str(tmp_path / "p.toml")],
                         monkeypatch, capsys)
    _one_error_line(code, err, "test_size")


def test_generate_model_config_imports_and_generates(tmp_path, monkeypatch, capsys):
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    rng = np.random.default_rng(0)
    (imgs / "a.png").write_bytes(encode_png(rng.integers(0, 256, (40, 57, 3), dtype=np.uint8),
                                            colour_type=2, bit_depth=8))
    cfg = tmp_path / "preprocessor_config.json"
    cfg.write_text(json.dumps({"image_processor_type": "ViTImageProcessor", "size": 16}))
    code, out, err = _main(["generate", "--model-config", str(cfg), "--backend", "pil", "--images",
                            str(imgs), "--out", str(tmp_path / "b"), "--jobs", "1"], monkeypatch, capsys)
    assert code == 0, err
    from conformance.bundle import Bundle, verify_bundle
    b = Bundle(tmp_path / "b")
    pid = f"{tmp_path.name}.pil"  # preprocessor_config.json: the id comes from its folder's name
    assert [(c["id"], c["pipeline"]) for c in b.cases] == [(f"{pid}__user.a", pid)]
    assert [s.op for s in b.pipelines[pid].steps] == ["decode", "resize", "normalize", "layout"]
    assert verify_bundle(tmp_path / "b").ok
    assert f"imported{cfg}aspipeline{pid}" in "".join(out.split())  # rich wraps anywhere
