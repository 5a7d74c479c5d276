"""`conformance check` (conformance.scale): the streamed route gives the bundle route's
verdicts and metrics case by case, resumes after a kill, survives a killed worker, and keeps a
table, a summary and the worst cases whole."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from conformance.bundle import Bundle
from conformance.cli import cli
from conformance.corpus import builtin_corpus
from conformance.expectations import Expectations
from conformance.generate import Plan, generate
from conformance.plans import default_pipelines, user_inputs
from conformance.runner import run_bundle
from conformance.scale import driver, table
from conformance.scale.dataset import imagenet_like
from conformance.scale.driver import load_job, run_check
from conformance.scale.inputs import list_images, safe_id
from conformance.scale.summary import summarize
from conformance.score import score_results

ROOT = Path(__file__).resolve().parents[1]
KNOWN = ROOT / "vectors" / "known-divergences.toml"
EXT = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}

# one pipeline of each kind of the default bundle's image pipelines (every op on images, the
# decode presets, resize families, colour, geometry, end-to-end styles)
PIPELINES = ["decode.pillow", "decode.opencv", "decode.opencv.gray",
             "decode.unchanged.keep16.alpha_keep.trns_apply.orient_ignore",
             "resize.pillow.bilinear.short24", "resize.opencv.area.down23x31",
             "resize.opencv.linear.up53x67", "color.gray.opencv_fixed", "color.bgr_gray_rgb",
             "geometry.pad_reflect3.crop_box", "e2e.torchvision.bilinear_s40.center32.imagenet.chw",
             "e2e.cv2dnn.bgr.linear_32x32.mean_first.chw", "e2e.yolo.letterbox48.linear.unit.chw",
             "e2e.symmetric.float16.hwc"]


def corpus_images(folder: Path) -> list[str]:
    """The default corpus's positive image inputs of every kind (PNG variants, EXIF, JPEG
    subsamplings and progressive, WebP) as files, named by id."""
    folder.mkdir(parents=True, exist_ok=True)
    picked, kinds = [], {}
    for item in builtin_corpus():
        if item.expect != "ok" or item.media_type not in EXT:
            continue
        kind = (item.media_type, item.tags[:2])
        if kinds.get(kind, 0) >= 2:
            continue
        kinds[kind] = kinds.get(kind, 0) + 1
        (folder / f"{item.id}{EXT[item.media_type]}").write_bytes(item.data)
        picked.append(item.id)
    return picked


@pytest.fixture(scope="module")
def both_routes(tmp_path_factory):
    """The same images and pipelines through generate + run + score and through check."""
    tmp = tmp_path_factory.mktemp("routes")
    images = tmp / "images"
    corpus_images(images)
    pipelines = {p.id: p for p in default_pipelines()[0]}
    chosen = [pipelines[i] for i in PIPELINES]
    expectations = Expectations.load([KNOWN])
    inputs, refused = user_inputs((images,))
    assert not refused
    generate(Plan(inputs=inputs, pipelines=chosen, selection={p.id: ("main",) for p in chosen}),
             tmp / "bundle")
    run_bundle(tmp / "bundle", tmp / "results", harnesses=["opencv", "pillow"], jobs=2)
    scores = score_results(tmp / "results", expectations=expectations)
    pfile = tmp / "pipelines.json"
    pfile.write_text(json.dumps({"pipelines": [p.to_json() for p in chosen]}))
    job, identity, _ = load_job([pfile], ["opencv", "pillow"], [], ("isolated", "chained"), [KNOWN], 60.0)
    summary = run_check(job, identity, [images], tmp / "check", workers=1, batch_size=7, worst=2,
                        processes=False, expectation_files=[KNOWN])
    return tmp, Bundle(tmp / "bundle"), scores, summary


def test_check_gives_the_bundle_routes_verdicts_and_metrics(both_routes):
    tmp, bundle, scores, summary = both_routes
    origin = {iid: meta["origin"] for iid, meta in bundle.manifest["inputs"].items()}
    want = {}
    for cs in scores.cases:
        name = origin[cs.input]
        for s in cs.steps:
            m = s.metrics or {}
            want[(cs.harness, cs.mode, cs.pipeline, name, s.index)] = (
                s.verdict, s.message[:300], m.get("max_abs"), m.get("mean_abs"), m.get("rmse"),
                m.get("over_tolerance"), (s.tolerance or {}).get("max_abs"))
        assert not cs.error
    rows = table.read(tmp / "check", table.STEPS).to_pylist()
    got = {(r["harness"], r["mode"], r["pipeline"], Path(r["path"]).name, r["step"]): (
        r["verdict"], r["message"], r["max_abs"], r["mean_abs"], r["rmse"], r["over_tolerance"],
        r["tolerance"]) for r in rows}
    assert len(rows) == len(got)  # one row per input x pipeline x harness x mode x step
    assert got.keys() == want.keys()
    differ = {k: (want[k], got[k]) for k in want if want[k] != got[k]}
    assert not differ, list(differ.items())[:5]
    verdicts = {v[0] for v in got.values()}
    assert {"pass", "xfail", "unsupported"} <= verdicts  # the comparison saw each kind of outcome
    skipped = {(s["pipeline"], origin[s["input"]]) for s in bundle.manifest["skipped"]}
    inputs = table.read(tmp / "check", table.INPUTS).to_pylist()
    assert len(inputs) == len(origin) and summary.checked == len(origin)
    assert {r["input"] for r in inputs if r["status"] == "skipped"} == {
        safe_id(name) for _, name in skipped}


def test_the_worst_cases_are_a_bundle_and_results_that_score_alike(both_routes):
    tmp, _, _, _ = both_routes
    from conformance.scale.worst import WorstTracker, write_worst

    job, _, _ = load_job([tmp / "pipelines.json"], ["opencv", "pillow"], [], ("isolated", "chained"),
                         [KNOWN], 60.0)
    inputs = table.read(tmp / "check", table.INPUTS, ["input", "sha256"]).to_pydict()
    tracker = WorstTracker.load(tmp / "check", 2)
    report = write_worst(tmp / "check", job, tracker, dict(zip(inputs["input"], inputs["sha256"])),
                         max_input_bytes=1 << 28)
    assert report.cases and not report.notes
    worst = score_results(report.results, expectations=Expectations.load([KNOWN]))
    rows = {(r["harness"], r["mode"], r["pipeline"], r["input"], r["step"]): r
            for r in table.read(tmp / "check", table.STEPS).to_pylist()}
    for cs in worst.cases:
        for s in cs.steps:
            r = rows[(cs.harness, cs.mode, cs.pipeline, cs.input, s.index)]
            assert (s.verdict, (s.metrics or {}).get("max_abs")) == (r["verdict"], r["max_abs"])
    # every step's worst failing image is among them
    for key, items in tracker.worst().items():
        assert all((pid, iid) in {(c.pipeline, c.input) for c in worst.cases} for iid, _, pid in items)


def test_summary_has_distributions_worst_images_and_properties(both_routes):
    tmp, _, _, _ = both_routes
    s = summarize(tmp / "check")
    assert s["images"] == len(table.read(tmp / "check", table.INPUTS))
    over = [g for g in s["steps"] if g["over_tolerance"]]  # known divergences: xfail
    assert over
    g = max(over, key=lambda g: g["levels"]["max"])
    assert g["levels"]["max"] >= g["levels"]["p99"] >= g["levels"]["p50"]
    assert g["worst"] and g["worst"][0]["verdict"] in ("fail", "error", "xfail")
    assert "by_property" in g and any(len(rows) > 1 for rows in g["by_property"].values())


def test_resume_after_a_kill_runs_only_the_missing_images(tmp_path, monkeypatch):
    images = tmp_path / "images"
    imagenet_like(images, 12, seed=1)
    job, identity, _ = load_job([ROOT / "examples" / "torchvision_224.toml"], ["pillow"], [],
                                ("isolated",), [], 60.0)
    monkeypatch.setattr(driver, "FLUSH_SECONDS", 0.0)  # a part per batch

    class Killed(BaseException):
        pass

    seen = []

    def kill_after_two(n):
        seen.append(n)
        if len(seen) == 2:
            raise Killed

    with pytest.raises(Killed):
        run_check(job, identity, [images], tmp_path / "out", workers=1, batch_size=3,
                  processes=False, on_batch=kill_after_two)
    kept = table.done_inputs(tmp_path / "out")
    assert 3 <= len(kept) < 12
    # a steps part whose inputs part never landed (a kill between the two renames) is dropped
    orphan = tmp_path / "out" / table.STEPS / "part-000999.parquet"
    orphan.write_bytes((tmp_path / "out" / table.STEPS / "part-000001.parquet").read_bytes())
    summary = run_check(job, identity, [images], tmp_path / "out", workers=1, batch_size=3, processes=False)
    assert summary.resumed == len(kept) and summary.checked == 12 - len(kept)
    rows = table.read(tmp_path / "out", table.STEPS).to_pylist()
    assert len(rows) == 12 * 5
    assert len({(r["input"], r["step"]) for r in rows}) == 12 * 5
    assert not orphan.exists()


def test_a_killed_worker_loses_no_finished_result(tmp_path):
    """Two worker processes; one is SIGKILLed after the first batch: Dask reschedules its work
    (or the driver splits it) and every image is checked exactly once."""
    import psutil

    images = tmp_path / "images"
    imagenet_like(images, 24, seed=2)
    job, identity, _ = load_job([ROOT / "examples" / "torchvision_224.toml"], ["opencv", "pillow"], [],
                                ("isolated",), [], 60.0)
    killed = []

    def kill_a_worker(n):
        if killed:
            return
        workers = [p for p in psutil.Process().children(recursive=True)
                   if "spawn_main" in " ".join(p.cmdline())]  # the LocalCluster's worker processes
        victim = max(workers, key=lambda p: p.pid)
        os.kill(victim.pid, signal.SIGKILL)
        killed.append(victim.pid)

    summary = run_check(job, identity, [images], tmp_path / "out", workers=2, batch_size=2,
                        on_batch=kill_a_worker)
    assert killed and not psutil.pid_exists(killed[0]) or psutil.Process(killed[0]).status() == "zombie"
    inputs = table.read(tmp_path / "out", table.INPUTS).to_pylist()
    assert sorted(r["input"] for r in inputs) == sorted(p.name for p in images.iterdir())
    rows = table.read(tmp_path / "out", table.STEPS).to_pylist()
    assert len(rows) == 24 * 2 * 5 and summary.checked == 24
    assert all(r["step"] >= 0 for r in rows)  # nothing was lost to the kill: no crash rows


def test_listing_ids_and_list_files(tmp_path):
    (tmp_path / "a" / "n01").mkdir(parents=True)
    (tmp_path / "a" / "n01" / "x 1.JPEG").write_bytes(b"")
    (tmp_path / "a" / "x 1.JPEG").write_bytes(b"")
    (tmp_path / "a" / "notes.md").write_bytes(b"")
    refs = list_images([tmp_path / "a"])
    assert [r.id for r in refs] == ["n01.x_1.JPEG", "x_1.JPEG"]
    lst = tmp_path / "val.txt"
    lst.write_text("# ImageNet val\na/x 1.JPEG\n\n../../etc/passwd\na/x 1.JPEG\n")
    refs = list_images([lst])
    assert [r.id for r in refs] == ["a.x_1.JPEG", "etc.passwd", "a.x_1.JPEG.2"]
    assert refs[1].path == str(tmp_path / "../../etc/passwd")  # the user's own list: opened as given
    # a NUL in a listed path: that image is refused, not a crash
    from conformance.scale.inputs import ImageRef, read_image

    bad = read_image(ImageRef("x", str(tmp_path / "bad\x00name.jpg")))
    assert bad.refused and bad.refused["type"] == "UnreadableInput"


def test_cli_reports_bad_files_and_goes_on(tmp_path):
    images = tmp_path / "images"
    imagenet_like(images, 5, seed=3)
    (images / "broken.jpg").write_bytes(b"not a jpeg at all")
    (images / "cut.jpg").write_bytes((images / "img_000000.jpg").read_bytes()[:700])
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["check", "--pipelines", str(ROOT / "examples" / "torchvision_224.toml"),
                                 "--images", str(images), "--harness", "pillow", "--workers", "1",
                                 "--out", str(out), "--worst", "1"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "checked 7 image(s)" in r.output and "1 refused" in r.output
    rows = {x["input"]: x for x in table.read(out, table.INPUTS).to_pylist()}
    assert rows["broken.jpg"]["status"] == "refused" and "broken.jpg" in rows["broken.jpg"]["message"]
    assert rows["cut.jpg"]["status"] == "skipped"  # the reference rejects it: reported, not scored
    assert (out / "summary.json").exists() and (out / "summary.html").exists()
    html = (out / "summary.html").read_text()
    assert "<script" not in html and "torchvision_224" in html
    assert pq.read_table(out / "steps.parquet").num_rows == 5 * 5
    # a second run resumes: nothing left to do
    r2 = CliRunner().invoke(cli, ["check", "--pipelines", str(ROOT / "examples" / "torchvision_224.toml"),
                                  "--images", str(images), "--harness", "pillow", "--out", str(out)])
    assert r2.exit_code == 0 and "7 already done" in r2.output
    # another harness set in the same folder: refused, one line
    r3 = CliRunner().invoke(cli, ["check", "--pipelines", str(ROOT / "examples" / "torchvision_224.toml"),
                                  "--images", str(images), "--harness", "opencv", "--out", str(out)])
    assert r3.exit_code != 0 and "other harnesses" in (r3.output + str(r3.exception))


def test_a_harness_program_runs_per_batch_and_its_crash_is_one_case(tmp_path, monkeypatch):
    """An external harness (the protocol; tests/fakes/external_harness.py copies the expected
    outputs: a perfect port) gets each batch as a bundle; a case it crashes on is that case's
    error, and every other case is scored."""
    import sys

    images = tmp_path / "images"
    imagenet_like(images, 4, seed=4)
    monkeypatch.setenv("FAKE_SEGFAULT_CASES", "torchvision_224__img_000002.jpg")
    fake = f"fake={sys.executable} {ROOT / 'tests' / 'fakes' / 'external_harness.py'}"
    job, identity, _ = load_job([ROOT / "examples" / "torchvision_224.toml"], [], [fake],
                                ("isolated", "chained"), [], 20.0)
    run_check(job, identity, [images], tmp_path / "out", workers=1, batch_size=2, processes=False)
    rows = table.read(tmp_path / "out", table.STEPS).to_pylist()
    crashed = [r for r in rows if r["input"] == "img_000002.jpg"]
    assert crashed and all(r["verdict"] == "error" for r in crashed)
    others = [r for r in rows if r["input"] != "img_000002.jpg"]
    assert len(others) == 3 * 2 * 5 and {r["verdict"] for r in others} == {"pass"}


def test_bad_options_and_folders_are_one_line(tmp_path):
    images = tmp_path / "images"
    imagenet_like(images, 2, seed=5)
    args = ["check", "--pipelines", str(ROOT / "examples" / "torchvision_224.toml"), "--images", str(images),
            "--harness", "pillow"]
    from conformance.cli import main

    def run(extra):
        import subprocess
        import sys

        p = subprocess.run([sys.executable, "-c", "from conformance.cli import main; main()", *args, *extra],
                           capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout + p.stderr

    code, text = run(["--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "a")])
    assert code == 2 and "cannot reach the Dask scheduler" in text and "Traceback" not in text
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "mine.txt").write_text("keep me")
    code, text = run(["--out", str(tmp_path / "b"), "--fresh"])
    assert code == 2 and "not a check directory" in text
    assert (tmp_path / "b" / "mine.txt").read_text() == "keep me"
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "check.json").write_text("[1, 2")
    code, text = run(["--out", str(tmp_path / "c")])
    assert code == 2 and "check.json" in text and "Traceback" not in text
    assert main  # the entry point the subprocess runs


def test_a_harness_that_hangs_on_an_image_is_ended_and_the_rest_go_on(tmp_path, monkeypatch):
    """An in-process harness hung in a call (tests/fakes/harnesses.py sleeps an hour on one
    image) cannot be interrupted: the worker's watchdog ends the worker after --timeout, the
    driver splits the batch, and only that harness's case on that image is an error."""
    import hashlib

    images = tmp_path / "images"
    imagenet_like(images, 4, seed=6)
    hung = sorted(images.iterdir())[1]
    monkeypatch.setenv("FAKE_HANG_ON", hashlib.sha256(hung.read_bytes()).hexdigest())
    job, identity, _ = load_job([ROOT / "examples" / "torchvision_224.toml"],
                                ["pillow", "tests.fakes.harnesses:EchoHarness"], [], ("isolated",), [], 1.0)
    summary = run_check(job, identity, [images], tmp_path / "out", workers=1, batch_size=2)
    assert summary.checked == 4 and summary.crashes >= 1
    rows = table.read(tmp_path / "out", table.STEPS).to_pylist()
    errors = [r for r in rows if r["step"] == -1]
    assert [(r["input"], r["harness"]) for r in errors] == [(hung.name, "fake-echo")]
    assert "hung" in errors[0]["message"]
    pillow = [r for r in rows if r["harness"] == "pillow"]
    assert len(pillow) == 4 * 5 and {r["verdict"] for r in pillow} == {"pass"}


def test_batches_hold_up_to_n_images_and_a_byte_budget(tmp_path):
    """A batch stops at --batch images or when its files reach the budget (large photos), and
    always takes one image, however large."""
    from collections import deque

    from conformance.scale.inputs import ImageRef

    sizes = [10, 10, 50, 10, 200, 10]
    refs = []
    for i, n in enumerate(sizes):
        (tmp_path / f"{i}.jpg").write_bytes(b"x" * n)
        refs.append(ImageRef(f"{i}.jpg", str(tmp_path / f"{i}.jpg")))
    refs.append(ImageRef("gone.jpg", str(tmp_path / "gone.jpg")))  # unreadable: read_image says so
    todo = deque(refs)
    batches = []
    while todo:
        batches.append([r.id for r in driver._next_batch(todo, 3, 60)])
    assert batches == [["0.jpg", "1.jpg"], ["2.jpg", "3.jpg"], ["4.jpg"], ["5.jpg", "gone.jpg"]]


def test_a_harness_program_declared_hung_keeps_the_answers_it_gave(tmp_path, monkeypatch):
    """A program that times out on several cases in a row is declared hung (ExternalHarness):
    the cases it answered before keep their verdicts; only the rest are timeout errors."""
    import sys

    images = tmp_path / "images"
    imagenet_like(images, 6, seed=8)
    names = sorted(p.name for p in images.iterdir())
    monkeypatch.setenv("FAKE_HANG_CASES", ",".join(f"torchvision_224__{n}" for n in names[3:]))
    fake = f"fake={sys.executable} {ROOT / 'tests' / 'fakes' / 'external_harness.py'}"
    job, identity, _ = load_job([ROOT / "examples" / "torchvision_224.toml"], [], [fake], ("isolated",), [], 1.0)
    run_check(job, identity, [images], tmp_path / "out", workers=1, batch_size=6, processes=False, worst=0)
    rows = table.read(tmp_path / "out", table.STEPS).to_pylist()
    answered = [r for r in rows if r["input"] in names[:3]]
    assert len(answered) == 3 * 5 and {r["verdict"] for r in answered} == {"pass"}
    hung = [r for r in rows if r["input"] in names[3:]]
    assert hung and all(r["verdict"] == "error" for r in hung)
