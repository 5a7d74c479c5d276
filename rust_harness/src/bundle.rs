//! Reading a vector bundle (`manifest.json` + `inputs/` + `expected/`) as any port would:
//! every path is relative to the bundle and must stay inside it, and every file read is checked
//! against the SHA-256 the manifest lists for it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{HarnessError, Result};
use crate::tensor::Tensor;
use crate::npy;

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

pub struct Bundle {
    pub root: PathBuf,
    pub manifest: Manifest,
}

impl Bundle {
    /// Opens `root/manifest.json`; a clear error naming the file if it is missing or malformed.
    pub fn open(root: &Path) -> Result<Bundle> {
        let path = root.join("manifest.json");
        let text = fs::read_to_string(&path).map_err(|e| HarnessError::Io(format!("{}: {e}", path.display())))?;
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| HarnessError::Io(format!("{}: not a bundle manifest: {e}", path.display())))?;
        Ok(Bundle { root: root.to_path_buf(), manifest })
    }

    /// The bytes of a bundle file, checked against its listed SHA-256.
    pub fn read_checked(&self, rel: &str, sha256: &str) -> Result<Vec<u8>> {
        let path = self.resolve(rel)?;
        let bytes = fs::read(&path).map_err(|e| HarnessError::Io(format!("{}: {e}", path.display())))?;
        let digest: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        if digest != sha256 {
            return Err(HarnessError::Io(format!("{}: SHA-256 is {digest}, the manifest lists {sha256}", path.display())));
        }
        Ok(bytes)
    }

    /// A relative path inside the bundle; an error for absolute paths or `..`.
    fn resolve(&self, rel: &str) -> Result<PathBuf> {
        let p = Path::new(rel);
        if p.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(HarnessError::Io(format!("manifest path {rel:?} leaves the bundle")));
        }
        Ok(self.root.join(p))
    }

    /// The encoded input file of a case.
    pub fn input_bytes(&self, case: &Case) -> Result<Vec<u8>> {
        let input = self.manifest.inputs.get(&case.input)
            .ok_or_else(|| HarnessError::Io(format!("case {}: unknown input {:?}", case.id, case.input)))?;
        self.read_checked(&input.path, &input.sha256)
    }

    /// The reference output of a step (isolated mode's input to the next step).
    pub fn expected(&self, step: &ExpectedStep) -> Result<Tensor> {
        let bytes = self.read_checked(&step.output, &step.sha256)?;
        npy::parse(&bytes).map_err(|e| HarnessError::Io(format!("{}: {}", step.output, e.message())))
    }

    pub fn pipeline(&self, case: &Case) -> Result<&Pipeline> {
        self.manifest.pipelines.get(&case.pipeline)
            .ok_or_else(|| HarnessError::Io(format!("case {}: unknown pipeline {:?}", case.id, case.pipeline)))
    }
}
