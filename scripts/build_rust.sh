#!/usr/bin/env bash
# Build and install the Rust harness into .venv: the PyO3 extension (maturin, release) as the
# conformance_rust package, and the protocol CLI (cargo, release) as .venv/bin/conformance-rust-harness.
# Both use rust_harness/Cargo.lock (--locked: the exact crate versions the suite was measured with)
# and one target directory, so the dependencies compile once. Cold: about 9 minutes on 2 cores.
# A second run rebuilds this crate (about 2 minutes): the cdylib and the plain build share the
# crate's unhashed artifact names with different features, so each invalidates the other (a
# workspace split of the PyO3 front end into its own crate would end that). Called by setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null; then
    echo "setup: cargo not found; the Rust harness needs a stable Rust toolchain (https://rustup.rs)" >&2
    exit 1
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c scripts/constraints.txt maturin
manifest=rust_harness/Cargo.toml
wheels=rust_harness/target/wheels
start=$SECONDS
echo "setup: building the Rust harness (release; the first build takes several minutes)"
rm -f "$wheels"/conformance_rust-*.whl
.venv/bin/maturin build --quiet --release --locked --manifest-path "$manifest" --out "$wheels" \
    --interpreter .venv/bin/python --compatibility linux
.venv/bin/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps \
    "$wheels"/conformance_rust-*.whl
cargo build --quiet --release --locked --manifest-path "$manifest" --bin conformance-rust-harness
install -m 755 rust_harness/target/release/conformance-rust-harness .venv/bin/conformance-rust-harness
echo "setup: Rust harness ready in $((SECONDS - start)) s ($(.venv/bin/conformance-rust-harness --version))"
