//! Reading a vector bundle (`manifest.json` + `inputs/` + `expected/`) as any port would.
//!
//! A bundle may come from a stranger, so nothing it says is trusted before it is checked:
//!
//! - every path in the manifest is relative and stays inside the bundle: no absolute path, no
//!   `..`, and no link that leads out of it;
//! - only regular files are read (a FIFO would block forever, `/dev/zero` never ends), each
//!   within a size limit ([`ReadLimits`]) checked from its metadata before it is read;
//! - every file read is checked against the SHA-256 the manifest lists for it;
//! - an expected `.npy` output has its header checked (dtype, order, shape, size: see
//!   [`crate::npy`]) and compared with the `dtype` and `shape` the manifest declares for it,
//!   before its data is read;
//! - the manifest's JSON is parsed by serde_json with its default nesting limit (128 levels),
//!   so deeply nested input is an error, not a stack overflow;
//! - names that become output paths (case ids, ops) are checked by [`crate::safeio::check_name`]
//!   where they are used (the harness's `protocol` module), so one bad case is an error for that case
//!   only.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{HarnessError, Result};
use crate::tensor::Tensor;
use crate::{npy, safeio};

#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub cases: Vec<Case>,
    pub inputs: BTreeMap<String, InputFile>,
    pub pipelines: BTreeMap<String, Pipeline>,
}

#[derive(Debug, Deserialize)]
pub struct Case {
    pub id: String,
    pub input: String,
    pub pipeline: String,
    pub expect: String,
    #[serde(default)]
    pub steps: Vec<ExpectedStep>,
}

#[derive(Debug, Deserialize)]
pub struct ExpectedStep {
    pub index: usize,
    pub op: String,
    pub output: String,
    pub sha256: String,
    /// The numpy dtype name of the output (`uint8`, ...); checked against the file's header.
    #[serde(default)]
    pub dtype: Option<String>,
    /// The output's shape; checked against the file's header.
    #[serde(default)]
    pub shape: Option<Vec<u64>>,
    /// How far a port's output may be from this one ([`Tolerance::max_abs`]); absent means exact.
    #[serde(default)]
    pub tolerance: Option<Tolerance>,
}

/// A step's declared tolerance (`case.steps[k].tolerance` in the manifest): the largest
/// absolute difference, sample by sample, between a conforming output and the expected one.
#[derive(Debug, Clone, Deserialize)]
pub struct Tolerance {
    pub max_abs: f64,
}

#[derive(Debug, Deserialize)]
pub struct InputFile {
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Deserialize)]
pub struct Pipeline {
    pub steps: Vec<Value>,
}

/// The most the reader takes from a bundle's files, in bytes; a larger file is an error naming
/// it, found from its metadata before it is read. The defaults are far above what the suite's
/// bundles hold and low enough that a hostile bundle cannot exhaust memory with one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// `manifest.json`: 256 MiB (the default bundle's, 1,749 cases, is 2.3 MB).
    pub manifest_bytes: u64,
    /// One encoded input file: 256 MiB, the Python generator's own limit on an input
    /// (`conformance generate --max-input-mb`), so every bundle it writes is readable.
    pub input_bytes: u64,
    /// The data of one expected `.npy` output: [`npy::MAX_ARRAY_BYTES`] (1 GiB).
    pub array_bytes: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits { manifest_bytes: 256 << 20, input_bytes: 256 << 20, array_bytes: npy::MAX_ARRAY_BYTES }
    }
}

pub struct Bundle {
    pub root: PathBuf,
    pub manifest: Manifest,
    pub limits: ReadLimits,
    /// `root` with every link resolved: a file's resolved path must lie under it.
    real_root: PathBuf,
}

impl Bundle {
    /// Opens `root/manifest.json` with the default [`ReadLimits`]; a clear error naming the file
    /// if it is missing, not a regular file, too large or malformed.
    pub fn open(root: &Path) -> Result<Bundle> {
        Bundle::open_with_limits(root, ReadLimits::default())
    }

    /// [`Bundle::open`] with other limits.
    pub fn open_with_limits(root: &Path, limits: ReadLimits) -> Result<Bundle> {
        let path = root.join("manifest.json");
        let bytes = safeio::read_limited(&path, limits.manifest_bytes)?;
        let real_root = root.canonicalize().map_err(|e| HarnessError::Io(format!("{}: {e}", root.display())))?;
        let text = String::from_utf8(bytes)
            .map_err(|e| HarnessError::Io(format!("{}: not UTF-8 text: {e}", path.display())))?;
        // serde_json's default recursion limit (128 nested arrays or objects) stays on: this
        // crate never calls `disable_recursion_limit` (nor enables `unbounded_depth`), so a
        // manifest of 200,000 '[' is an error here, not a stack overflow.
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| HarnessError::Io(format!("{}: not a bundle manifest: {e}", path.display())))?;
        Ok(Bundle { root: root.to_path_buf(), manifest, limits, real_root })
    }

    /// The bytes of a bundle file (at most `limits.input_bytes`), checked against its listed
    /// SHA-256.
    pub fn read_checked(&self, rel: &str, sha256: &str) -> Result<Vec<u8>> {
        let path = self.resolve_file(rel, self.limits.input_bytes)?;
        let bytes = safeio::read_limited(&path, self.limits.input_bytes)?;
        check_sha256(&path, &bytes, sha256)?;
        Ok(bytes)
    }

    /// A manifest path as a path inside the bundle. In this order, before anything is read:
    ///
    /// 1. the text is a relative path of plain names: an error for an absolute path, `..`, `.`
    ///    or a NUL (which no file name holds);
    /// 2. it names a regular file within `limit` bytes (from its metadata, links followed, so
    ///    a link to `/dev/zero` is refused as a device and a FIFO is never opened);
    /// 3. with every link resolved it still lies inside the bundle (a link to a file elsewhere
    ///    is refused: the bundle's files are the bundle's).
    fn resolve_file(&self, rel: &str, limit: u64) -> Result<PathBuf> {
        let path = self.resolve(rel)?;
        safeio::check_regular(&path, limit)?;
        let real = path.canonicalize().map_err(|e| HarnessError::Io(format!("{}: {e}", path.display())))?;
        if !real.starts_with(&self.real_root) {
            return Err(HarnessError::Io(format!("manifest path {rel:?} leaves the bundle through a link (to {})",
                                                real.display())));
        }
        Ok(path)
    }

    /// Check 1 of [`Bundle::resolve_file`]: a relative path inside the bundle; an error for
    /// absolute paths, `..` or `.` components and NUL bytes.
    fn resolve(&self, rel: &str) -> Result<PathBuf> {
        let p = Path::new(rel);
        if rel.is_empty() || rel.contains('\0') || p.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(HarnessError::Io(format!("manifest path {rel:?} leaves the bundle")));
        }
        Ok(self.root.join(p))
    }

    /// The encoded input file of a case (at most `limits.input_bytes`).
    pub fn input_bytes(&self, case: &Case) -> Result<Vec<u8>> {
        let input = self.manifest.inputs.get(&case.input)
            .ok_or_else(|| HarnessError::Io(format!("case {}: unknown input {:?}", case.id, case.input)))?;
        self.read_checked(&input.path, &input.sha256)
    }

    /// The reference output of a step (isolated mode's input to the next step). Its header is
    /// checked, and compared with the step's declared `dtype` and `shape`, before its data is
    /// read ([`npy::read_file`]); then its SHA-256.
    pub fn expected(&self, step: &ExpectedStep) -> Result<Tensor> {
        let expect = npy::Expect {
            max_array_bytes: self.limits.array_bytes,
            dtype: step.dtype.as_deref(),
            shape: step.shape.as_deref(),
        };
        let path = self.resolve_file(&step.output, npy::max_file_bytes(self.limits.array_bytes))?;
        let (header, bytes) = npy::read_file(&path, &expect)?;
        check_sha256(&path, &bytes, &step.sha256)?;
        npy::decode(&header, &bytes[header.data_offset..]).map_err(|e| e.with_prefix(&path.display().to_string()))
    }

    pub fn pipeline(&self, case: &Case) -> Result<&Pipeline> {
        self.manifest.pipelines.get(&case.pipeline)
            .ok_or_else(|| HarnessError::Io(format!("case {}: unknown pipeline {:?}", case.id, case.pipeline)))
    }
}

/// An error naming the file unless `bytes` hash to `sha256`.
fn check_sha256(path: &Path, bytes: &[u8], sha256: &str) -> Result<()> {
    let digest: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    if digest != sha256 {
        return Err(HarnessError::Io(format!("{}: SHA-256 is {digest}, the manifest lists {sha256}", path.display())));
    }
    Ok(())
}
