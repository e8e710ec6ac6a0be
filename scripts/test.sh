#!/usr/bin/env bash
# The whole test suite: formatting, lints, Rust tests, and the end-to-end tests
# that drive a real gateway with the official openai and anthropic Python SDKs,
# then the Node addon's tests and examples. Needs Rust (with cargo-nextest if
# present), Python 3.11+ and Node.js 20+; it installs the Python packages it
# needs into a venv outside the clone and the npm packages into node_modules
# folders inside it (git-ignored).
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mws-gateway/target}"
venv="${MWS_VENV:-$HOME/.cache/mws-gateway/venv}"
requirements="tests/python/requirements.txt"

suite_start=$SECONDS
step_start=$SECONDS
step_name=""
timings=()

step() {
    finish_step
    step_name="$1"
    step_start=$SECONDS
    printf '\n==== %s ====\n' "$step_name"
}

finish_step() {
    if [[ -n "$step_name" ]]; then
        timings+=("$(printf '%4ds  %s' "$((SECONDS - step_start))" "$step_name")")
    fi
    step_name=""
}

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (-D warnings)"
cargo clippy --workspace --all-targets -- -D warnings

if cargo nextest --version >/dev/null 2>&1; then
    step "cargo nextest run"
    cargo nextest run --workspace
else
    step "cargo test (cargo-nextest not installed)"
    cargo test --workspace
fi

step "cargo test --doc"
cargo test --workspace --doc

step "build mws-gateway and mock-upstream"
# The whole workspace, so features unify with the test build and nothing is rebuilt.
cargo build --workspace --bins
export MWS_GATEWAY_BIN="$CARGO_TARGET_DIR/debug/mws-gateway"
export MWS_MOCK_BIN="$CARGO_TARGET_DIR/debug/mock-upstream"
test -x "$MWS_GATEWAY_BIN"
test -x "$MWS_MOCK_BIN"
echo "MWS_GATEWAY_BIN=$MWS_GATEWAY_BIN"
echo "MWS_MOCK_BIN=$MWS_MOCK_BIN"

step "python venv ($venv)"
python="${PYTHON:-python3}"
if [[ ! -x "$venv/bin/python" ]]; then
    if ! "$python" -m venv "$venv"; then
        # Debian's python3 ships venv separately.
        if command -v apt-get >/dev/null 2>&1; then
            pyver="$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python${pyver}-venv" ||
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
        fi
        rm -rf "$venv"
        "$python" -m venv "$venv"
    fi
fi
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$want" >"$stamp"
    echo "installed $requirements"
else
    echo "$requirements unchanged; venv up to date"
fi

step "pytest tests/python"
set +e
"$venv/bin/python" -m pytest tests/python -q -p no:cacheprovider
status=$?
set -e
if [[ $status -eq 5 ]]; then
    # pytest exits 5 when it collected nothing: fine only while there are no
    # test files at all; with test files present it means they went missing.
    if compgen -G "tests/python/test_*.py" >/dev/null; then
        echo "pytest collected no tests although tests/python has test files" >&2
        exit 1
    fi
    echo "no Python end-to-end tests yet"
elif [[ $status -ne 0 ]]; then
    exit "$status"
fi

step "node addon: npm ci (debug build of the addon)"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
    fi
fi
echo "node $(node --version), npm $(npm --version)"
# The addon's install script builds it with cargo; debug shares the build
# tree of the steps above (node_modules stays in the clone, git-ignored).
export MWS_NODE_PROFILE=debug
(cd bindings/node && npm ci --no-audit --no-fund)

step "node addon: generated files up to date (napi-rs, tsc)"
bash bindings/node/scripts/check_generated.sh

step "node --test bindings/node/test"
(cd bindings/node && node --test test/*.test.mjs)

step "node examples: npm ci, tsc --noEmit, run"
(
    cd examples/node
    npm ci --no-audit --no-fund
    npx tsc --noEmit -p .
    node embed_sdks.mjs
    node in_process_stream.mjs
)

finish_step
printf '\n==== timings ====\n'
printf '%s\n' "${timings[@]}"
printf '%4ds  total\n' "$((SECONDS - suite_start))"
echo "all checks passed"
