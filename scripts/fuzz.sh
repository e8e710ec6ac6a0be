#!/usr/bin/env bash
# Fuzzes mws-core with cargo-fuzz (libFuzzer): the Anthropic and OpenAI ingress
# parsers, the upstream SSE path and the config parser, each for MWS_FUZZ_SECS
# seconds (default 30). Usage: scripts/fuzz.sh [target...] (default: all four).
#
# - The targets (fuzz/fuzz_targets) call the harnesses in mws-core's
#   `testing::fuzz`; their seeds are fuzz/corpus/<target>/ and their
#   dictionaries fuzz/dicts/. What the fuzzer adds to a corpus goes to
#   $MWS_FUZZ_WORK/corpus/<target>/ (default ~/.cache/mws-gateway/fuzz), outside
#   the clone, so it is never committed and later runs start from it.
# - A crash (panic, abort, stack overflow, an input over -timeout seconds or
#   over -rss_limit_mb) is copied to fuzz/regressions/<target>/ and the script
#   fails naming the target and the file. core/tests/fuzz_regressions.rs then
#   replays it in `cargo nextest run` until the bug is fixed.
# - cargo-fuzz $CARGO_FUZZ_VERSION is installed with `cargo install --locked`
#   into ~/.cache/mws-gateway/tools when missing; the targets build into
#   ~/.cache/mws-gateway/fuzz-target (MWS_FUZZ_TARGET_DIR), kept between runs.
#
# Built with `--sanitizer none`, on purpose: the machine has a stable toolchain
# only, and cargo-fuzz's default AddressSanitizer needs `-Zsanitizer`, which
# stable rustc refuses. RUSTC_BOOTSTRAP=1 does get an ASan build through on
# stable, but it is an unsupported escape hatch that a toolchain update may
# break, it needs a second full build of every dependency and slows each run,
# and it would guard only the dependencies' unsafe code: mws-core forbids
# unsafe. What the fuzzer looks for in our code needs no sanitizer: cargo-fuzz
# keeps overflow checks and debug assertions on in its optimized build, so
# overflows and panics crash; libFuzzer itself catches aborts (a stack overflow
# from unbounded recursion), hangs (-timeout) and memory blow-ups
# (-rss_limit_mb); and the harnesses check invariants (SSE decoding does not
# depend on where the body was cut; every rendered frame is one line of JSON).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

CARGO_FUZZ_VERSION=0.13.2
secs="${MWS_FUZZ_SECS:-30}"
tools="${MWS_FUZZ_TOOLS:-$HOME/.cache/mws-gateway/tools}"
target_dir="${MWS_FUZZ_TARGET_DIR:-$HOME/.cache/mws-gateway/fuzz-target}"
work="${MWS_FUZZ_WORK:-$HOME/.cache/mws-gateway/fuzz}"
all_targets=(anthropic_ingress openai_ingress upstream_sse config)
if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    targets=("${all_targets[@]}")
fi

# Per target: the largest input (the Claude Code request seed is 90 KB) and
# its dictionary.
max_len() {
    case "$1" in
        anthropic_ingress) echo 131072 ;;
        openai_ingress | upstream_sse) echo 65536 ;;
        config) echo 16384 ;;
        *) echo "unknown fuzz target $1 (known: ${all_targets[*]})" >&2; return 1 ;;
    esac
}
dict() {
    case "$1" in
        anthropic_ingress | openai_ingress) echo fuzz/dicts/json.dict ;;
        *) echo "fuzz/dicts/$1.dict" ;;
    esac
}

if ! "$tools/bin/cargo-fuzz" --version 2>/dev/null | grep -qx "cargo-fuzz $CARGO_FUZZ_VERSION"; then
    echo "installing cargo-fuzz $CARGO_FUZZ_VERSION into $tools"
    # Built in cargo's own temporary directory, not the project's target dir.
    env -u CARGO_TARGET_DIR cargo install --locked --quiet --root "$tools" cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi
export PATH="$tools/bin:$PATH"

echo "building the fuzz targets into $target_dir"
host="$(rustc -vV | sed -n 's/^host: //p')"
# cargo fuzz has no --locked: fetching with --locked first checks fuzz/Cargo.lock
# (a stale one fails here) and brings exactly what the build below then uses.
cargo fetch --locked --manifest-path fuzz/Cargo.toml --target "$host"
cargo fuzz build --sanitizer none --target-dir "$target_dir"
bin_dir="$target_dir/$host/release"

failed=()
for t in "${targets[@]}"; do
    len="$(max_len "$t")"
    mkdir -p "$work/corpus/$t" "$work/logs"
    artifacts="$(mktemp -d)"
    log="$work/logs/$t.log"
    echo "fuzzing $t for ${secs}s (log: $log)"
    set +e
    "$bin_dir/$t" "$work/corpus/$t" "fuzz/corpus/$t" \
        -max_total_time="$secs" -max_len="$len" -timeout=10 -rss_limit_mb=2048 \
        -dict="$(dict "$t")" -artifact_prefix="$artifacts/" -print_final_stats=1 \
        >"$log" 2>&1
    status=$?
    set -e
    grep -E '^(Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" | sed 's/^/    /' || true
    if [[ $status -ne 0 ]]; then
        crash="$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) | head -n 1)"
        # The panic message and libFuzzer's verdict; the whole story is in the log.
        grep -E -A1 'panicked at' "$log" | head -n 2 >&2 || true
        grep -E '^(==[0-9]+== ERROR|SUMMARY): ' "$log" >&2 || true
        if [[ -n "$crash" ]]; then
            mkdir -p "fuzz/regressions/$t"
            kept="fuzz/regressions/$t/$(basename "$crash")"
            cp "$crash" "$kept"
            echo "FUZZ CRASH: target $t failed on $kept (exit $status)" >&2
            failed+=("$t: $kept")
        else
            echo "FUZZ FAILURE: target $t exited $status without an input; see $log" >&2
            failed+=("$t: exit $status, see $log")
        fi
    fi
    rm -rf "$artifacts"
done

echo "fuzz: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
if [[ ${#failed[@]} -gt 0 ]]; then
    printf '  %s\n' "${failed[@]}" >&2
    echo "Keep each input in fuzz/regressions/<target>/ (renamed after what it is) and fix the bug; core/tests/fuzz_regressions.rs replays them." >&2
    exit 1
fi
