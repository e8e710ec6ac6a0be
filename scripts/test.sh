#!/usr/bin/env bash
# The whole test suite: formatting, lints, Rust tests, the C library's tests
# and examples under valgrind, the end-to-end tests that drive a real gateway
# with the official openai and anthropic Python SDKs, and the Python package
# (bindings/python) built, installed and tested with its examples.
# Needs Rust (with cargo-nextest if present) and Python 3.11+; it installs the
# Python packages it needs into a venv outside the clone, and gcc, g++, make
# and valgrind with apt-get when they are missing.
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

step "build libmws and the C programs"
# gcc, g++, make and valgrind for the C library's tests and examples.
missing=()
for tool in gcc g++ make valgrind; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc g++ make valgrind
fi
# The dev profile and the whole workspace, as the step above, so the core is
# not built again; users build with `cargo build -p mws-ffi --release`.
cargo build --workspace --lib
mws_lib_dir="$(cd "$CARGO_TARGET_DIR/debug" && pwd)"
test -f "$mws_lib_dir/libmws.so"
test -f "$mws_lib_dir/libmws.a"
make -C ffi/tests/c MWS_LIB_DIR="$mws_lib_dir"
make -C examples/c MWS_LIB_DIR="$mws_lib_dir"
export MWS_C_HOST_BIN="$repo_root/examples/c/build/host"

step "C tests of libmws under valgrind"
make -C ffi/tests/c MWS_LIB_DIR="$mws_lib_dir" valgrind

step "C and C++ examples under valgrind"
make -C examples/c MWS_LIB_DIR="$mws_lib_dir" check

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

step "python package: build and install mws-gateway into the venv"
# The same target dir and dev profile as the Rust steps above, with maturin from
# the venv (no build isolation), so a warm run compiles nothing.
py_requirements="bindings/python/requirements-dev.txt"
py_stamp="$venv/.python-package-requirements.sha256"
py_want="$(sha256sum "$py_requirements" | cut -d' ' -f1)"
if [[ "$(cat "$py_stamp" 2>/dev/null || true)" != "$py_want" ]]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$py_requirements"
    echo "$py_want" >"$py_stamp"
    echo "installed $py_requirements"
fi
PATH="$venv/bin:$PATH" "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-build-isolation --no-deps --force-reinstall \
    --config-settings=build-args="--profile dev" ./bindings/python
"$venv/bin/python" -c 'import mws_gateway; print("installed mws_gateway", mws_gateway.__version__)'

step "pytest bindings/python/tests (calls, streams, errors, concurrency, SDKs, fork, CLI, mypy --strict, examples/python)"
"$venv/bin/python" -m pytest bindings/python/tests -q -p no:cacheprovider

finish_step
printf '\n==== timings ====\n'
printf '%s\n' "${timings[@]}"
printf '%4ds  total\n' "$((SECONDS - suite_start))"
echo "all checks passed"
