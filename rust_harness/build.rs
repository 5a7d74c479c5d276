//! Records the resolved versions of the libraries the harness reports (from Cargo.lock), so
//! `harness.json` and the Python `versions()` name exactly what was linked.

use std::fs;

const REPORTED: [&str; 7] = ["image", "zune-jpeg", "png", "fast_image_resize", "tract-onnx", "ndarray", "pyo3"];

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = fs::read_to_string("Cargo.lock").unwrap_or_default();
    let mut name: Option<String> = None;
    let mut found = Vec::new();
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_string());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            if REPORTED.contains(&n.as_str()) {
                found.push(format!("{n}={}", v.trim_matches('"')));
            }
        }
    }
    println!("cargo:rustc-env=CONFORMANCE_LINKED_VERSIONS={}", found.join(","));
}
