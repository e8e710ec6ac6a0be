#!/usr/bin/env bash
# The whole test suite: formatting, lints, Rust tests, a short fuzzing run of
# the parsers (scripts/fuzz.sh), the C library's tests and examples under
# valgrind, the end-to-end tests that drive a real gateway with the official
# openai and anthropic Python SDKs and the Codex CLI, the Python package's
# tests, examples and mypy, the dashboard driven in a headless browser, the Node
# addon's tests and examples, and the official openai and Anthropic Node SDKs
# (the Responses API; Chat Completions and Messages to each upstream kind).
# Needs Rust (with cargo-nextest if present), Python 3.11+ and Node.js 20+; it
# installs the Python packages it needs into a venv outside the clone, gcc,
# g++, make, valgrind, redis-server and Debian's chromium with apt-get when they
# are missing, cargo-fuzz into ~/.cache/mws-gateway/tools, playwright-core into
# tests/dashboard/node_modules, the Codex CLI into tests/codex, and the Node
# addon's, examples' and Node SDK tests' packages into bindings/node,
# examples/node and tests/node (npm ci, from the committed lock files).
# For the redis store's tests a private redis-server on a free loopback port
# runs for the length of the suite ($MWS_TEST_REDIS_URL), stopped on exit.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mws-gateway/target}"
venv="${MWS_VENV:-$HOME/.cache/mws-gateway/venv}"
requirements="tests/python/requirements.txt"
# Installed after it with --no-deps: pins whose own metadata conflicts with
# requirements.txt (see the file).
requirements_nodeps="tests/python/requirements-nodeps.txt"

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

step "redis-server for the tests"
if ! command -v redis-server >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
    else
        echo "redis-server is not installed and apt-get is not available: the redis store tests will skip (or fail under CI)" >&2
    fi
fi
redis_pid=""
redis_dir=""
stop_redis() {
    if [[ -n "$redis_pid" ]]; then
        kill "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
    fi
    if [[ -n "$redis_dir" ]]; then
        rm -rf "$redis_dir"
    fi
}
trap stop_redis EXIT
if command -v redis-server >/dev/null 2>&1; then
    redis_dir="$(mktemp -d)"
    # A port nobody holds now; another process may take it before redis binds
    # it, so a failed start is tried again on another one.
    for _ in 1 2 3; do
        redis_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
        redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
            --dir "$redis_dir" --logfile "$redis_dir/redis.log" --daemonize no >/dev/null 2>&1 &
        redis_pid=$!
        for _ in $(seq 50); do
            if redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG; then
                break 2
            fi
            if ! kill -0 "$redis_pid" 2>/dev/null; then
                break
            fi
            sleep 0.1
        done
        kill "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
        redis_pid=""
    done
    if [[ -z "$redis_pid" ]]; then
        echo "could not start redis-server; its log:" >&2
        cat "$redis_dir/redis.log" >&2 || true
        exit 1
    fi
    export MWS_TEST_REDIS_URL="redis://127.0.0.1:$redis_port"
    echo "MWS_TEST_REDIS_URL=$MWS_TEST_REDIS_URL ($(redis-server --version | cut -d' ' -f3))"
fi

step "cargo fmt --check"
# Every cargo command that resolves dependencies runs with --locked: Cargo.lock
# is what was tested, and a stale one fails here instead of being rewritten.
# (cargo fmt resolves nothing and takes no --locked.)
cargo fmt --all --check

step "module graph of core/src: no import loop, no spawn in Drop (scripts/check_layers.py)"
python3 scripts/check_layers.py

step "cargo clippy (-D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

if cargo nextest --version >/dev/null 2>&1; then
    step "cargo nextest run"
    cargo nextest run --workspace --locked
else
    step "cargo test (cargo-nextest not installed)"
    cargo test --workspace --locked
fi

step "fuzz: each cargo-fuzz target for ${MWS_FUZZ_SECS:-30}s (scripts/fuzz.sh)"
# About 2.5 minutes warm (four targets one after another); the first run on a
# machine also installs cargo-fuzz and builds the targets in their own target
# dir under ~/.cache/mws-gateway. A crash fails the suite and leaves its input
# in fuzz/regressions/, which the nextest step above then replays.
scripts/fuzz.sh

step "cargo test --doc"
cargo test --workspace --doc --locked

step "build mws-gateway and mock-upstream"
# The whole workspace, so features unify with the test build and nothing is rebuilt.
cargo build --workspace --bins --locked
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
cargo build --workspace --lib --locked
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
want="$(cat "$requirements" "$requirements_nodeps" | sha256sum | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$requirements_nodeps"
    echo "$want" >"$stamp"
    echo "installed $requirements and $requirements_nodeps"
else
    echo "$requirements unchanged; venv up to date"
fi

# npm ci in $1 only when its lock file changed since the last install; the
# packages' own scripts are not run (the addon is built explicitly below).
npm_ci_if_changed() {
    local stamp="$1/node_modules/.package-lock.sha256"
    local want
    want="$(sha256sum "$1/package-lock.json" | cut -d' ' -f1)"
    if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
        (cd "$1" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
        echo "$want" >"$stamp"
    else
        echo "$1/package-lock.json unchanged; node_modules up to date"
    fi
}

step "Codex CLI for the end-to-end tests (tests/codex: npm ci)"
# The pinned @openai/codex (its native binary ships inside the npm package);
# tests/python/test_codex.py runs it against the gateway, offline.
npm_ci_if_changed tests/codex

step "Claude Code CLI for the end-to-end tests (tests/claude-code: npm ci)"
# The pinned @anthropic-ai/claude-code; its native binary comes in an optional
# dependency that its install script (skipped by npm ci --ignore-scripts) links.
npm_ci_if_changed tests/claude-code
tests/claude-code/node_modules/.bin/claude --version >/dev/null 2>&1 ||
    (cd tests/claude-code && node node_modules/@anthropic-ai/claude-code/install.cjs)
export MWS_CLAUDE_BIN="$repo_root/tests/claude-code/node_modules/.bin/claude"
export MWS_CODEX_BIN="$repo_root/tests/codex/node_modules/.bin/codex"
"$MWS_CODEX_BIN" --version

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

step "dashboard in headless chromium (tests/dashboard)"
chromium_bin="${CHROMIUM_BIN:-/usr/bin/chromium}"
if [[ ! -x "$chromium_bin" ]]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
export CHROMIUM_BIN="$chromium_bin"
"$CHROMIUM_BIN" --version
dash="tests/dashboard"
# npm ci only when the lock file changed since the last install.
lock_stamp="$dash/node_modules/.package-lock.sha256"
want="$(sha256sum "$dash/package-lock.json" | cut -d' ' -f1)"
if [[ "$(cat "$lock_stamp" 2>/dev/null || true)" != "$want" ]]; then
    (cd "$dash" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$lock_stamp"
else
    echo "$dash/package-lock.json unchanged; node_modules up to date"
fi
# Screenshots of every page land in tests/dashboard/artifacts/ (git-ignored).
(cd "$dash" && node --test --test-concurrency=1 dashboard.test.mjs)

step "node addon: npm ci, debug build of the addon (bindings/node)"
echo "node $(node --version), npm $(npm --version)"
npm_ci_if_changed bindings/node
# What the package's install script runs, in the dev profile of the steps
# above (users get --release).
MWS_NODE_PROFILE=debug node bindings/node/scripts/build.js

step "node addon: generated files up to date (napi-rs, tsc)"
MWS_NODE_PROFILE=debug bash bindings/node/scripts/check_generated.sh

step "node --test bindings/node/test"
(cd bindings/node && node --test test/*.test.mjs)

step "node examples: tsc --noEmit, run (examples/node)"
npm_ci_if_changed examples/node
(
    cd examples/node
    npx tsc --noEmit -p .
    node embed_sdks.mjs
    node in_process_stream.mjs
)

step "node --test tests/node (the openai and Anthropic Node SDKs: Responses API, translated chat and messages; the Vercel AI SDK and LangChain JS on the scripted mock)"
npm_ci_if_changed tests/node
# package.json's test script names the test files.
(cd tests/node && npm test --silent)

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
    --config-settings=build-args="--profile dev --locked" ./bindings/python
"$venv/bin/python" -c 'import mws_gateway; print("installed mws_gateway", mws_gateway.__version__)'

step "pytest bindings/python/tests (calls, streams, errors, concurrency, SDKs, fork, CLI, mypy --strict, examples/python)"
"$venv/bin/python" -m pytest bindings/python/tests -q -p no:cacheprovider

finish_step
printf '\n==== timings ====\n'
printf '%s\n' "${timings[@]}"
printf '%4ds  total\n' "$((SECONDS - suite_start))"
echo "all checks passed"
