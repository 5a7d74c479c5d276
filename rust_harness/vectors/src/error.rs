//! The errors a step can end with, in the protocol's vocabulary (`docs/harness-protocol.md`).

use std::fmt;

/// Why a step produced no output.
#[derive(Debug, Clone, PartialEq)]
pub enum HarnessError {
    /// The library has no call for what the step asks (an *intent* knob); the message says what
    /// is missing in words a porter can act on. Not a failure.
    Unsupported(String),
    /// The decoder refused the input as malformed or over a limit. For a negative vector this is
    /// the conforming answer.
    Rejected(String),
    /// The step could not run on this input (wrong channel count, window outside the image, a
    /// knob value this harness does not know, a runtime error of tract, ...).
    Failed(String),
    /// Reading or writing files (bundle, outputs), or a malformed bundle.
    Io(String),
}

impl HarnessError {
    /// The protocol status this error is reported as.
    pub fn status(&self) -> &'static str {
        match self {
            HarnessError::Unsupported(_) => "unsupported",
            HarnessError::Rejected(_) => "rejected",
            HarnessError::Failed(_) | HarnessError::Io(_) => "error",
        }
    }

    /// The same error with `prefix: ` before its message (e.g. which step of a pipeline).
    pub fn with_prefix(self, prefix: &str) -> HarnessError {
        match self {
            HarnessError::Unsupported(m) => HarnessError::Unsupported(format!("{prefix}: {m}")),
            HarnessError::Rejected(m) => HarnessError::Rejected(format!("{prefix}: {m}")),
            HarnessError::Failed(m) => HarnessError::Failed(format!("{prefix}: {m}")),
            HarnessError::Io(m) => HarnessError::Io(format!("{prefix}: {m}")),
        }
    }

    pub fn message(&self) -> &str {
        match self {
            HarnessError::Unsupported(m)
            | HarnessError::Rejected(m)
            | HarnessError::Failed(m)
            | HarnessError::Io(m) => m,
        }
    }
}

impl fmt::Display for HarnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status(), self.message())
    }
}

impl std::error::Error for HarnessError {}

/// The crate's error type under the short name a porter's code uses.
pub type Error = HarnessError;

pub type Result<T> = std::result::Result<T, HarnessError>;

/// `Failed` with a formatted message.
#[macro_export]
macro_rules! failed {
    ($($arg:tt)*) => { $crate::error::HarnessError::Failed(format!($($arg)*)) };
}

/// `Unsupported` with a formatted message.
#[macro_export]
macro_rules! unsupported {
    ($($arg:tt)*) => { $crate::error::HarnessError::Unsupported(format!($($arg)*)) };
}
