# Sourced by the scripts: the shared environment of builds and tests.
# shellcheck shell=bash
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cjs-target}
# The WASM build gets its own target directory so a host build never waits on its lock.
export CJS_WASM_TARGET_DIR=${CJS_WASM_TARGET_DIR:-$HOME/.cache/cjs-target-wasm}
export TRUNK_SKIP_VERSION_CHECK=true
# Set up once per run: scripts started by scripts (test → fuzz) inherit the result.
if [ -z "${CJS_TOOLS_BIN:-}" ]; then
  CJS_TOOLS_BIN=$("$root/scripts/setup-tools")
  export CJS_TOOLS_BIN
fi
tools_bin=$CJS_TOOLS_BIN
# The Python with the tests' PyPI tools (aiosmtpd).
export CJS_TEST_PYTHON=${CJS_TEST_PYTHON:-$(dirname "$tools_bin")/py/bin/python}
export CJS_AXE_JS=${CJS_AXE_JS:-$(dirname "$tools_bin")/node_modules/axe-core/axe.min.js}
export PATH="$tools_bin:$HOME/.cargo/bin:$PATH"

build_frontend() {
  (cd "$root" && cargo fetch --quiet && CARGO_TARGET_DIR=$CJS_WASM_TARGET_DIR "$root/scripts/build-frontend")
}
