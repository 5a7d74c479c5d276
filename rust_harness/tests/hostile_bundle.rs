//! Bundles from strangers: every hostile file or name is a typed `HarnessError::Io` whose
//! message names the file (or the case), never a panic, a hang or a huge allocation, and the
//! other cases of the bundle go on. Each test builds its own small bundle in a temporary
//! directory (a PNG, a decode + colour pipeline, the expected outputs as `np.save` writes them).

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use conformance_rust::bundle::{Bundle, ExpectedStep, ReadLimits};
use conformance_rust::engine::{Engine, StepInput};
use conformance_rust::error::HarnessError;
use conformance_rust::npy;
use conformance_rust::protocol::{output_path, run_bundle, Mode};
use conformance_rust::step::Step;
use image::{ImageBuffer, ImageFormat, Rgb};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A directory under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("conformance-hostile-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_json() -> Value {
    json!({"op": "decode", "output": "rgb", "orientation": "apply", "alpha": "drop",
           "background": [255, 255, 255], "trns": "ignore", "depth16": "round",
           "depth16_gray": "same", "max_pixels": 1 << 26})
}

fn color_json() -> Value {
    json!({"op": "color", "conversion": "rgb_to_bgr"})
}

/// A bundle at `root` with one 6x4 RGB PNG, the pipeline `p` (decode, rgb_to_bgr) and one
/// case per id in `case_ids`, its expected outputs written under `expected/<id>/` (for ids
/// that are safe directory names). Returns the manifest, for tests to edit and rewrite.
fn write_bundle(root: &Path, case_ids: &[&str]) -> Value {
    let img = ImageBuffer::from_fn(6, 4, |x, y| Rgb([(x * 40) as u8, (y * 60) as u8, 7u8]));
    let mut png = Cursor::new(Vec::new());
    img.write_to(&mut png, ImageFormat::Png).unwrap();
    let png = png.into_inner();
    fs::create_dir_all(root.join("inputs")).unwrap();
    fs::write(root.join("inputs/img.png"), &png).unwrap();
    let steps = [Step::from_json(&decode_json()).unwrap(), Step::from_json(&color_json()).unwrap()];
    let decoded = Engine::Image.run(&steps[0], StepInput::Bytes(&png)).unwrap();
    let converted = Engine::Image.run(&steps[1], StepInput::Array(decoded.clone())).unwrap();
    let mut cases = Vec::new();
    for id in case_ids {
        let mut expected = Vec::new();
        for (index, (op, tensor)) in [("decode", &decoded), ("color", &converted)].into_iter().enumerate() {
            let rel = format!("expected/{id}/{index}_{op}.npy");
            let bytes = npy::to_bytes(tensor);
            if !id.contains(['/', '\0']) && !id.starts_with('.') {
                fs::create_dir_all(root.join("expected").join(id)).unwrap();
                fs::write(root.join(&rel), &bytes).unwrap();
            }
            expected.push(json!({"index": index, "op": op, "output": rel, "sha256": sha256(&bytes),
                                 "dtype": tensor.dtype(), "shape": tensor.shape(),
                                 "tolerance": {"metric": "max_abs", "max_abs": 0}}));
        }
        cases.push(json!({"id": id, "input": "img", "pipeline": "p", "expect": "ok", "steps": expected}));
    }
    let manifest = json!({
        "format": "preprocessing-vectors", "version": 1, "generator": {"name": "test", "version": "0"},
        "pipelines": {"p": {"id": "p", "steps": [decode_json(), color_json()]}},
        "inputs": {"img": {"path": "inputs/img.png", "sha256": sha256(&png), "media_type": "image/png", "expect": "ok"}},
        "cases": cases,
    });
    write_manifest(root, &manifest);
    manifest
}

fn write_manifest(root: &Path, manifest: &Value) {
    fs::write(root.join("manifest.json"), serde_json::to_vec_pretty(manifest).unwrap()).unwrap();
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Runs `f` on another thread and fails the test (instead of hanging it) if it takes longer
/// than 20 s: what blocking on a FIFO would do.
fn within_20s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(20)).expect("the reader blocked (or panicked)")
}

/// The case's expected step `index` as the manifest lists it.
fn expected_step(bundle: &Bundle, case: usize, index: usize) -> &ExpectedStep {
    &bundle.manifest.cases[case].steps[index]
}

fn io_message(e: HarnessError) -> String {
    assert!(matches!(e, HarnessError::Io(_)), "not an Io error: {e}");
    e.message().to_string()
}

#[test]
fn a_clean_bundle_runs_and_leaves_no_temporary_files() {
    let dir = TempDir::new("clean");
    let root = dir.0.join("bundle");
    write_bundle(&root, &["ok.1"]);
    let bundle = Bundle::open(&root).unwrap();
    let out = dir.0.join("out");
    for mode in [Mode::Isolated, Mode::Chained] {
        let _ = fs::remove_dir_all(&out);
        let doc = run_bundle(Engine::Image, &bundle, &out, mode, None, |_, _| {}).unwrap();
        let steps = doc["cases"]["ok.1"]["steps"].as_array().unwrap();
        assert!(steps.iter().all(|s| s["status"] == "ok"), "{doc}");
        // the outputs are the expected files byte for byte (the same engine made both)
        for name in ["0_decode.npy", "1_color.npy"] {
            assert_eq!(fs::read(out.join("ok.1").join(name)).unwrap(), fs::read(root.join("expected/ok.1").join(name)).unwrap());
        }
        let mut names: Vec<String> = fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["harness.json", "ok.1"]);
        let written: Value = serde_json::from_slice(&fs::read(out.join("harness.json")).unwrap()).unwrap();
        assert_eq!(written, doc);
        assert_eq!(fs::read_dir(out.join("ok.1")).unwrap().count(), 2, "no temporaries beside the outputs");
    }
}

#[test]
fn a_bad_case_id_is_an_error_for_that_case_and_the_others_go_on() {
    let dir = TempDir::new("ids");
    let root = dir.0.join("bundle");
    let bad = ["../escape", "..", ".", "a/b", "/abs", "nul\0byte", ".hidden", "back\\slash", ""];
    let mut ids = vec!["good"];
    ids.extend(bad);
    write_bundle(&root, &ids);
    let bundle = Bundle::open(&root).unwrap();
    let out = dir.0.join("runs/out");
    let doc = run_bundle(Engine::Image, &bundle, &out, Mode::Isolated, None, |_, _| {}).unwrap();
    assert!(doc["cases"]["good"]["steps"].as_array().unwrap().iter().all(|s| s["status"] == "ok"), "{doc}");
    for id in bad {
        let error = doc["cases"][id]["error"].as_str().unwrap_or_else(|| panic!("no case error for {id:?}: {doc}"));
        assert!(error.starts_with("case id ") && error.contains("is not a safe name"), "{id:?}: {error}");
    }
    // nothing was written outside OUT, and OUT holds the good case only
    let mut beside: Vec<_> = fs::read_dir(dir.0.join("runs")).unwrap().map(|e| e.unwrap().file_name()).collect();
    beside.sort();
    assert_eq!(beside, ["out"]);
    let mut inside: Vec<_> = fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
    inside.sort();
    assert_eq!(inside, ["good", "harness.json"]);
}

#[test]
fn output_paths_take_safe_ids_and_known_ops_only() {
    let out = Path::new("/tmp/out");
    assert_eq!(output_path(out, "case.1", 2, "resize").unwrap(), out.join("case.1/2_resize.npy"));
    for (id, op) in [("..", "resize"), ("a/b", "resize"), ("ok", "../../x"), ("ok", "resize/x"), ("ok", "sharpen")] {
        let e = output_path(out, id, 0, op).unwrap_err();
        assert!(matches!(e, HarnessError::Io(_)), "{e}");
    }
}

#[test]
fn an_unsafe_op_or_pipeline_id_is_a_case_error_and_an_unknown_op_unsupported() {
    let dir = TempDir::new("ops");
    let root = dir.0.join("bundle");
    let mut manifest = write_bundle(&root, &["c1", "c2", "c3"]);
    manifest["pipelines"]["evil"] = json!({"id": "evil", "steps": [decode_json(), {"op": "../../pwned"}]});
    manifest["pipelines"]["future"] = json!({"id": "future", "steps": [decode_json(), {"op": "sharpen"}]});
    manifest["pipelines"]["a/b"] = json!({"id": "a/b", "steps": [decode_json()]});
    manifest["cases"][0]["pipeline"] = json!("evil");
    manifest["cases"][1]["pipeline"] = json!("future");
    manifest["cases"][2]["pipeline"] = json!("a/b");
    write_manifest(&root, &manifest);
    let bundle = Bundle::open(&root).unwrap();
    let out = dir.0.join("out");
    let doc = run_bundle(Engine::Image, &bundle, &out, Mode::Chained, None, |_, _| {}).unwrap();
    let e1 = doc["cases"]["c1"]["error"].as_str().unwrap();
    assert!(e1.contains("op \"../../pwned\" is not a safe name") && e1.contains("pipeline evil"), "{e1}");
    let steps = doc["cases"]["c2"]["steps"].as_array().unwrap();
    assert_eq!(steps[1]["status"], "unsupported", "{doc}");
    let e3 = doc["cases"]["c3"]["error"].as_str().unwrap();
    assert!(e3.contains("pipeline id \"a/b\" is not a safe name"), "{e3}");
    assert!(!dir.0.join("pwned.npy").exists() && !out.join("c1").exists());
}

#[test]
fn deeply_nested_manifest_json_is_an_error_not_a_stack_overflow() {
    let dir = TempDir::new("deep");
    let depth = 200_000;
    // at the top level, and inside a pipeline's steps (free-form JSON values)
    let top = "[".repeat(depth);
    let inner = format!("{{\"cases\": [], \"inputs\": {{}}, \"pipelines\": {{\"p\": {{\"steps\": [{}{}]}}}}}}",
                        "[".repeat(depth), "]".repeat(depth));
    for text in [top, inner] {
        fs::write(dir.0.join("manifest.json"), &text).unwrap();
        let root = dir.0.clone();
        let m = io_message(within_20s(move || Bundle::open(&root).map(|_| ())).unwrap_err());
        assert!(m.contains("manifest.json: not a bundle manifest"), "{m}");
    }
    // the inner one is refused by serde_json's nesting limit, which this proves is on
    let m = io_message(Bundle::open(&dir.0).map(|_| ()).unwrap_err());
    assert!(m.contains("recursion limit exceeded"), "{m}");
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = TempDir::new("fifo");
    let root = dir.0.join("bundle");
    write_bundle(&root, &["c"]);
    // as an expected output, as the input file, and as the manifest
    let npy_path = root.join("expected/c/0_decode.npy");
    fs::remove_file(&npy_path).unwrap();
    mkfifo(&npy_path);
    fs::remove_file(root.join("inputs/img.png")).unwrap();
    mkfifo(&root.join("inputs/img.png"));
    let r = root.clone();
    let (expected, input) = within_20s(move || {
        let bundle = Bundle::open(&r).unwrap();
        let case = &bundle.manifest.cases[0];
        (bundle.expected(&case.steps[0]).map(|_| ()), bundle.input_bytes(case).map(|_| ()))
    });
    let m = io_message(expected.unwrap_err());
    assert!(m.contains("expected/c/0_decode.npy") && m.contains("is a FIFO, not a regular file"), "{m}");
    let m = io_message(input.unwrap_err());
    assert!(m.contains("inputs/img.png") && m.contains("is a FIFO, not a regular file"), "{m}");
    // the whole run: a case-level error, in bounded time
    let (r, out) = (root.clone(), dir.0.join("out"));
    let doc = within_20s(move || run_bundle(Engine::Image, &Bundle::open(&r).unwrap(), &out, Mode::Isolated, None, |_, _| {}).unwrap());
    assert!(doc["cases"]["c"]["error"].as_str().unwrap().contains("FIFO"), "{doc}");
    fs::remove_file(root.join("manifest.json")).unwrap();
    mkfifo(&root.join("manifest.json"));
    let r = root.clone();
    let m = io_message(within_20s(move || Bundle::open(&r).map(|_| ())).unwrap_err());
    assert!(m.contains("manifest.json: is a FIFO"), "{m}");
}

#[test]
fn a_link_to_dev_zero_is_refused_before_reading() {
    let dir = TempDir::new("zero");
    let root = dir.0.join("bundle");
    write_bundle(&root, &["c"]);
    let npy_path = root.join("expected/c/0_decode.npy");
    fs::remove_file(&npy_path).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &npy_path).unwrap();
    let bundle = Bundle::open(&root).unwrap();
    let m = io_message(within_20s(move || bundle.expected(expected_step(&bundle, 0, 0)).map(|_| ())).unwrap_err());
    assert!(m.contains("expected/c/0_decode.npy: is a character device, not a regular file"), "{m}");
}

#[test]
fn a_link_out_of_the_bundle_is_refused() {
    let dir = TempDir::new("link");
    let root = dir.0.join("bundle");
    write_bundle(&root, &["c"]);
    // a regular file outside the bundle, with the very hash the manifest lists
    let npy_path = root.join("expected/c/0_decode.npy");
    fs::rename(&npy_path, dir.0.join("outside.npy")).unwrap();
    std::os::unix::fs::symlink(dir.0.join("outside.npy"), &npy_path).unwrap();
    let bundle = Bundle::open(&root).unwrap();
    let m = io_message(bundle.expected(expected_step(&bundle, 0, 0)).unwrap_err());
    assert!(m.contains("\"expected/c/0_decode.npy\" leaves the bundle through a link"), "{m}");
    // a link inside the bundle is fine
    fs::remove_file(&npy_path).unwrap();
    fs::rename(dir.0.join("outside.npy"), root.join("expected/c/real.npy")).unwrap();
    std::os::unix::fs::symlink("real.npy", &npy_path).unwrap();
    bundle.expected(expected_step(&bundle, 0, 0)).unwrap();
    // and paths that leave the bundle by their text are refused as before
    for rel in ["../outside.npy", "/etc/passwd", "expected/../../x", "a\0b"] {
        let e = bundle.read_checked(rel, "0").unwrap_err();
        assert!(io_message(e).contains("leaves the bundle"), "{rel}");
    }
}

/// The hostile `.npy` files of the issue, each as an expected output in a bundle: a typed error
/// naming the file, with what is wrong.
#[test]
fn hostile_npy_files_in_a_bundle_are_errors_naming_the_file() {
    let dir = TempDir::new("npy");
    let root = dir.0.join("bundle");
    write_bundle(&root, &["c"]);
    let good = fs::read(root.join("expected/c/0_decode.npy")).unwrap(); // uint8 (4, 6, 3)
    let with_header = |dict: &str, data_len: usize| {
        let mut header = dict.to_string();
        header.push_str(&" ".repeat((64 - (10 + header.len() + 1) % 64) % 64));
        header.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(header.len() as u16).to_le_bytes());
        b.extend_from_slice(header.as_bytes());
        b.extend(std::iter::repeat_n(0u8, data_len));
        b
    };
    let two40 = 1u64 << 40;
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        ("truncated", good[..good.len() - 5].to_vec(), "truncated: the header says uint8 [4, 6, 3] (72 data bytes), the file holds only 67".into()),
        ("too long", [&good[..], b"extra"].concat(), "too long".into()),
        ("shape vs data", with_header("{'descr': '|u1', 'fortran_order': False, 'shape': (4, 6, 3), }", 60), "(72 data bytes), the file holds only 60".into()),
        ("10^12 elements", with_header("{'descr': '|u1', 'fortran_order': False, 'shape': (1000000, 1000000), }", 72), "is 1000000000000 bytes, over the limit of 1073741824 bytes".into()),
        ("overflow", with_header(&format!("{{'descr': '|u1', 'fortran_order': False, 'shape': ({two40}, {two40}), }}"), 0), "more bytes than this machine can address".into()),
        ("big-endian", with_header("{'descr': '>u2', 'fortran_order': False, 'shape': (4, 6, 3), }", 144), "dtype \">u2\" is not one of".into()),
        ("unknown dtype", with_header("{'descr': '<c16', 'fortran_order': False, 'shape': (4, 6, 3), }", 1152), "dtype \"<c16\" is not one of".into()),
        ("Fortran order", with_header("{'descr': '|u1', 'fortran_order': True, 'shape': (4, 6, 3), }", 72), "Fortran-order arrays are not accepted".into()),
        ("garbage", b"GIF89a".to_vec(), "no \\x93NUMPY magic".into()),
    ];
    let path = root.join("expected/c/0_decode.npy");
    for (what, bytes, expected) in cases {
        fs::write(&path, &bytes).unwrap();
        let bundle = Bundle::open(&root).unwrap();
        let m = io_message(bundle.expected(expected_step(&bundle, 0, 0)).unwrap_err());
        assert!(m.starts_with(&path.display().to_string()), "{what}: {m}");
        assert!(m.contains(&expected), "{what}: {m}");
        // the file reader outside a bundle says the same
        let m = io_message(npy::read(&path).unwrap_err());
        assert!(m.contains(&expected), "{what}: {m}");
    }
}

#[test]
fn a_header_disagreeing_with_the_manifest_is_an_error_before_the_data_is_read() {
    let dir = TempDir::new("declared");
    let root = dir.0.join("bundle");
    let mut manifest = write_bundle(&root, &["c"]);
    // the file is intact (its hash matches); the manifest declares another shape, then dtype
    manifest["cases"][0]["steps"][0]["shape"] = json!([4, 6, 1]);
    write_manifest(&root, &manifest);
    let bundle = Bundle::open(&root).unwrap();
    let m = io_message(bundle.expected(expected_step(&bundle, 0, 0)).unwrap_err());
    assert!(m.contains("expected/c/0_decode.npy: the header says uint8 [4, 6, 3], the manifest declares uint8 [4, 6, 1]"), "{m}");
    manifest["cases"][0]["steps"][0]["shape"] = json!([4, 6, 3]);
    manifest["cases"][0]["steps"][0]["dtype"] = json!("float32");
    write_manifest(&root, &manifest);
    let bundle = Bundle::open(&root).unwrap();
    let m = io_message(bundle.expected(expected_step(&bundle, 0, 0)).unwrap_err());
    assert!(m.contains("the header says uint8 [4, 6, 3], the manifest declares float32 [4, 6, 3]"), "{m}");
    // checked before the hash: a file whose header disagrees is not even read to be hashed
    manifest["cases"][0]["steps"][0]["sha256"] = json!("0".repeat(64));
    write_manifest(&root, &manifest);
    let bundle = Bundle::open(&root).unwrap();
    assert!(io_message(bundle.expected(expected_step(&bundle, 0, 0)).unwrap_err()).contains("the manifest declares"));
}

#[test]
fn files_over_the_limits_are_refused_from_their_size() {
    let dir = TempDir::new("limits");
    let root = dir.0.join("bundle");
    write_bundle(&root, &["c"]);
    let manifest_len = fs::metadata(root.join("manifest.json")).unwrap().len();
    let small = ReadLimits { manifest_bytes: manifest_len - 1, ..ReadLimits::default() };
    let m = io_message(Bundle::open_with_limits(&root, small).map(|_| ()).unwrap_err());
    assert!(m.contains("manifest.json: is") && m.contains("over the limit"), "{m}");
    let bundle = Bundle::open_with_limits(&root, ReadLimits { input_bytes: 10, array_bytes: 71, ..ReadLimits::default() }).unwrap();
    let case = &bundle.manifest.cases[0];
    let m = io_message(bundle.input_bytes(case).unwrap_err());
    assert!(m.contains("inputs/img.png: is") && m.contains("over the limit of 10 bytes"), "{m}");
    // 72 data bytes, a limit of 71: refused from the header, whatever the file's size
    let m = io_message(bundle.expected(&case.steps[0]).unwrap_err());
    assert!(m.contains("0_decode.npy") && m.contains("over the limit of 71 bytes"), "{m}");
    // a file larger than any header and 71 bytes of data: refused from its metadata
    fs::write(root.join("expected/c/0_decode.npy"), vec![0u8; 20_000]).unwrap();
    let m = io_message(bundle.expected(&case.steps[0]).unwrap_err());
    assert!(m.contains("0_decode.npy: is 20000 bytes, over the limit"), "{m}");
    // a directory where a file should be
    fs::remove_file(root.join("expected/c/0_decode.npy")).unwrap();
    fs::create_dir(root.join("expected/c/0_decode.npy")).unwrap();
    let m = io_message(bundle.expected(&case.steps[0]).unwrap_err());
    assert!(m.contains("is a directory, not a regular file"), "{m}");
}

#[test]
fn the_cli_reports_a_bad_case_and_runs_the_others() {
    let dir = TempDir::new("cli");
    let root = dir.0.join("bundle");
    write_bundle(&root, &["good", "../escape"]);
    let out = dir.0.join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_conformance-rust-harness"))
        .args(["--bundle", root.to_str().unwrap(), "--out", out.to_str().unwrap(), "--mode", "isolated"])
        .status()
        .unwrap();
    assert!(status.success());
    let doc: Value = serde_json::from_slice(&fs::read(out.join("harness.json")).unwrap()).unwrap();
    assert_eq!(doc["cases"]["good"]["steps"][1]["status"], "ok", "{doc}");
    assert!(doc["cases"]["../escape"]["error"].as_str().unwrap().contains("not a safe name"), "{doc}");
    assert!(!dir.0.join("escape").exists());
    // a manifest that is not a regular file: exit status 2 and a message naming it, no hang
    fs::remove_file(root.join("manifest.json")).unwrap();
    mkfifo(&root.join("manifest.json"));
    let args = ["--bundle".into(), root.display().to_string(), "--out".into(), dir.0.join("out2").display().to_string(),
                "--mode".into(), "chained".to_string()];
    let output = within_20s(move || Command::new(env!("CARGO_BIN_EXE_conformance-rust-harness")).args(args).output().unwrap());
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("manifest.json: is a FIFO, not a regular file"), "{stderr}");
}
