#!/usr/bin/env bash
# Load benchmark: gateway pinned to one core in front of a fast mock upstream,
# each scenario at concurrency 1 and 64, side by side with the mock served
# directly. Prints a Markdown table. Usage: bench/run.sh [seconds-per-run]
# (MWS_BENCH_SCENARIOS="a b", MWS_BENCH_CONC="64" and MWS_BENCH_SKIP_ACCOUNTING=1
# narrow a run; MWS_BENCH_BUSY_POLL_US sets server.busy_poll_us, 200 by default). The last rows, `bare-proxy`, are the yardstick: a hyper proxy
# that only reads and forwards (bench/src/bare_proxy.rs), on the gateway's core,
# asked the openai-chat request (`bare-proxy`) and the streamed one
# (`bare-proxy-stream`). Streams come in two mock variants: 24 events ready at
# once, and the same spaced 1 ms apart (the `-spaced` rows, each with its own
# bare-proxy row). The `-otel` rows (`openai-chat-otel`, `openai-stream-otel`)
# ask a second gateway, the same but with tracing on (`[telemetry]`, every
# call sampled), whose spans go to the mock's OTLP sink, which discards them:
# next to `openai-chat` and `openai-stream`, what tracing costs per request.
# The `-redis` rows are `openai-chat` and
# `openai-stream` through a second gateway whose store is a private local
# redis-server (on the mocks' core), with the Redis commands each request cost
# (INFO commandstats) printed under the table; MWS_BENCH_SKIP_REDIS=1 leaves
# them out, and they are skipped when redis-server is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/mws-gateway/target}
OHA_VERSION=1.8.0
TOOLS=${MWS_BENCH_TOOLS:-$HOME/.cache/mws-gateway/tools}
if ! [ -x "$TOOLS/bin/oha" ]; then
  echo "== installing oha $OHA_VERSION into $TOOLS" >&2
  cargo install --locked --quiet --root "$TOOLS" oha --version "$OHA_VERSION"
fi
OHA="$TOOLS/bin/oha"
cargo build --release --locked --quiet -p mws-core --bin mws-gateway -p mws-bench --bin mock-upstream --bin accounting --bin bare-proxy
BIN="$CARGO_TARGET_DIR/release"
WORK=$(mktemp -d)
cleanup() { kill "${MOCK_PID:-}" "${MOCK2_PID:-}" "${GW_PID:-}" "${GW_OTEL_PID:-}" "${BARE_PID:-}" "${BARE2_PID:-}" "${GWR_PID:-}" "${REDIS_PID:-}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# The mocks get the other core so they never compete with the gateway. Their
# Chat Completions streams are a real upstream's: 20 content deltas (24 events,
# one body frame each), all ready at once; the second mock spaces them 1 ms apart.
taskset -c 1 "$BIN/mock-upstream" --deltas 20 >"$WORK/mock.out" &
MOCK_PID=$!
taskset -c 1 "$BIN/mock-upstream" --deltas 20 --gap-ms 1 >"$WORK/mock2.out" &
MOCK2_PID=$!
until grep -q listening "$WORK/mock.out" 2>/dev/null && grep -q listening "$WORK/mock2.out" 2>/dev/null; do sleep 0.1; done
MOCK=$(awk '/listening on/ {print $3}' "$WORK/mock.out")
MOCK2=$(awk '/listening on/ {print $3}' "$WORK/mock2.out")

# One configuration, two stores: $1 is the [store] table's body.
gw_config() {
cat <<TOML
[server]
metrics = true
busy_poll_us = ${MWS_BENCH_BUSY_POLL_US:-200}
[store]
$1
[limits]
unauthenticated_rpm_per_ip = 1000000000
unauthenticated_tpm_per_ip = 1000000000000
[[limits.tiers]]
min_lifetime_spend_usd = 0
rpm = 1000000000
tpm = 1000000000000
[[upstreams]]
name = "oai"
kind = "openai"
base_url = "http://$MOCK/v1"
max_retries = 0
[[upstreams]]
name = "ant"
kind = "anthropic"
base_url = "http://$MOCK/v1"
max_retries = 0
[[upstreams]]
name = "resp"
kind = "openai-responses"
base_url = "http://$MOCK/v1"
max_retries = 0
[[upstreams]]
name = "oai-spaced"
kind = "openai"
base_url = "http://$MOCK2/v1"
max_retries = 0
[[profiles]]
id = "dragon-spaced"
upstream = "oai-spaced"
context_window = 262144
tokens_per_second = 189
input_price_per_mtok = 0.48
output_price_per_mtok = 1.08
[[profiles]]
id = "dragon"
upstream = "oai"
context_window = 262144
tokens_per_second = 189
input_price_per_mtok = 0.48
output_price_per_mtok = 1.08
[[profiles]]
id = "dragon-anthropic"
upstream = "ant"
context_window = 262144
tokens_per_second = 189
input_price_per_mtok = 0.48
output_price_per_mtok = 1.08
[[profiles]]
id = "dragon-responses"
upstream = "resp"
context_window = 262144
tokens_per_second = 189
input_price_per_mtok = 0.48
output_price_per_mtok = 1.08
TOML
}
gw_config "kind = \"sqlite\"
path = \"$WORK/gw.db\"" >"$WORK/gw.toml"
# An account with enough credits for the whole run, and its key, made by the CLI.
bench_key() { # config file -> the key, printed
  local G="$BIN/mws-gateway --config $1" acct
  acct=$($G accounts create --name bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  $G credits add "$acct" --usd 1000000 >/dev/null
  $G keys create "$acct" --name bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'
}
KEY=$(bench_key "$WORK/gw.toml")

# The tracing gateway: the same config and a copy of the same database (so
# the same key), its spans to the mock's OTLP sink (/v1/traces, discarded).
for f in "$WORK"/gw.db*; do cp "$f" "${f/gw.db/gw-otel.db}"; done
sed "s|$WORK/gw.db|$WORK/gw-otel.db|" "$WORK/gw.toml" >"$WORK/gw-otel.toml"
cat >>"$WORK/gw-otel.toml" <<TOML
[telemetry]
otlp_endpoint = "http://$MOCK"
sample_ratio = 1.0
TOML

RUST_LOG=warn taskset -c 0 "$BIN/mws-gateway" --config "$WORK/gw.toml" serve --listen 127.0.0.1:0 >"$WORK/gw.out" 2>"$WORK/gw.err" &
GW_PID=$!
until grep -q "listening on" "$WORK/gw.out" 2>/dev/null; do sleep 0.1; done
GW=$(grep -o 'http://[0-9.:]*' "$WORK/gw.out" | head -1)
RUST_LOG=warn taskset -c 0 "$BIN/mws-gateway" --config "$WORK/gw-otel.toml" serve --listen 127.0.0.1:0 >"$WORK/gw-otel.out" 2>"$WORK/gw-otel.err" &
GW_OTEL_PID=$!
until grep -q "listening on" "$WORK/gw-otel.out" 2>/dev/null; do sleep 0.1; done
GW_OTEL=$(grep -o 'http://[0-9.:]*' "$WORK/gw-otel.out" | head -1)
# Resident memory once started, before any request (the peak is read at the end).
sleep 1
IDLE_RSS=$(awk '/VmRSS/ {print $2, $3}' "/proc/$GW_PID/status")

taskset -c 0 "$BIN/bare-proxy" "$MOCK" >"$WORK/bare.out" &
BARE_PID=$!
until grep -q listening "$WORK/bare.out" 2>/dev/null; do sleep 0.1; done
BARE="http://$(awk '/listening on/ {print $3}' "$WORK/bare.out")"
BARE_IDLE_RSS=$(awk '/VmRSS/ {print $2, $3}' "/proc/$BARE_PID/status")
taskset -c 0 "$BIN/bare-proxy" "$MOCK2" >"$WORK/bare2.out" &
BARE2_PID=$!
until grep -q listening "$WORK/bare2.out" 2>/dev/null; do sleep 0.1; done
BARE2="http://$(awk '/listening on/ {print $3}' "$WORK/bare2.out")"

# The redis rows: a private redis-server on the mocks' core (no persistence),
# and a second gateway on it, started only when a -redis row is asked for.
SCENARIOS=${MWS_BENCH_SCENARIOS:-openai-chat openai-chat-otel openai-stream openai-stream-otel anthropic-to-openai anthropic-stream anthropic-to-responses anthropic-to-responses-stream responses-to-openai responses-stream pass-through openai-chat-redis openai-stream-redis bare-proxy bare-proxy-stream openai-stream-spaced anthropic-stream-spaced bare-proxy-stream-spaced}
if [[ " $SCENARIOS " == *"-redis "* ]]; then
  if [ -n "${MWS_BENCH_SKIP_REDIS:-}" ] || ! command -v redis-server >/dev/null; then
    echo "(no redis-server, or MWS_BENCH_SKIP_REDIS: the -redis rows are left out)" >&2
    SCENARIOS=$(tr ' ' '\n' <<<"$SCENARIOS" | grep -v -- '-redis$' | tr '\n' ' ')
  else
    REDIS_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    taskset -c 1 redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
      --dir "$WORK" --logfile "$WORK/redis.log" --daemonize no >/dev/null 2>&1 &
    REDIS_PID=$!
    until redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; do sleep 0.1; done
    gw_config "kind = \"redis\"
url = \"redis://127.0.0.1:$REDIS_PORT\"" >"$WORK/gw-redis.toml"
    KEY_REDIS=$(bench_key "$WORK/gw-redis.toml")
    RUST_LOG=warn taskset -c 0 "$BIN/mws-gateway" --config "$WORK/gw-redis.toml" serve --listen 127.0.0.1:0 >"$WORK/gwr.out" 2>"$WORK/gwr.err" &
    GWR_PID=$!
    until grep -q "listening on" "$WORK/gwr.out" 2>/dev/null; do sleep 0.1; done
    GWR=$(grep -o 'http://[0-9.:]*' "$WORK/gwr.out" | head -1)
  fi
fi
# The Redis commands run so far, by command (INFO commandstats).
redis_calls() {
  redis-cli -p "$REDIS_PORT" info commandstats | python3 -c '
import re, sys
print(" ".join(f"{m[1]}={m[2]}" for m in re.finditer(r"cmdstat_(\w+):calls=(\d+)", sys.stdin.read())))'
}

MSG='"messages":[{"role":"user","content":"Write one short sentence about dragons."}]'
declare -A BODY PATHS DIRECT
BODY[openai-chat]="{\"model\":\"dragon\",$MSG}"
BODY[openai-stream]="{\"model\":\"dragon\",\"stream\":true,$MSG}"
BODY[anthropic-to-openai]="{\"model\":\"dragon\",\"max_tokens\":64,$MSG}"
BODY[anthropic-stream]="{\"model\":\"dragon\",\"max_tokens\":64,\"stream\":true,$MSG}"
BODY[pass-through]="{\"model\":\"dragon-anthropic\",\"max_tokens\":64,$MSG}"
# Anthropic in, translated to a Responses-kind upstream (the same mock).
BODY[anthropic-to-responses]="{\"model\":\"dragon-responses\",\"max_tokens\":64,$MSG}"
BODY[anthropic-to-responses-stream]="{\"model\":\"dragon-responses\",\"max_tokens\":64,\"stream\":true,$MSG}"
BODY[openai-chat-redis]="${BODY[openai-chat]}"
BODY[openai-stream-redis]="${BODY[openai-stream]}"
BODY[bare-proxy]="${BODY[openai-chat]}"
# The same requests to the tracing gateway.
BODY[openai-chat-otel]="${BODY[openai-chat]}"
BODY[openai-stream-otel]="${BODY[openai-stream]}"
BODY[bare-proxy-stream]="${BODY[openai-stream]}"
# The same streams with their events 1 ms apart (the spaced mock).
BODY[openai-stream-spaced]="{\"model\":\"dragon-spaced\",\"stream\":true,$MSG}"
BODY[anthropic-stream-spaced]="{\"model\":\"dragon-spaced\",\"max_tokens\":64,\"stream\":true,$MSG}"
BODY[bare-proxy-stream-spaced]="${BODY[openai-stream]}"
# The Responses API translated to the same Chat Completions mock (store: false,
# so the rows compare translation, not the stored-response write).
RESP='"input":"Write one short sentence about dragons.","store":false'
BODY[responses-to-openai]="{\"model\":\"dragon\",$RESP}"
BODY[responses-stream]="{\"model\":\"dragon\",\"stream\":true,$RESP}"
# What a Responses-kind upstream is asked for those rows, sent to the mock directly.
RESP_UP='"input":[{"role":"user","content":"Write one short sentence about dragons."}],"max_output_tokens":64,"store":false'
RESP_DIRECT="{\"model\":\"dragon\",$RESP_UP}"
RESP_DIRECT_STREAM="{\"model\":\"dragon\",\"stream\":true,$RESP_UP}"
PATHS=([openai-chat-otel]=/v1/chat/completions [openai-stream-otel]=/v1/chat/completions [openai-chat-redis]=/v1/chat/completions [openai-stream-redis]=/v1/chat/completions [bare-proxy-stream]=/v1/chat/completions [bare-proxy-stream-spaced]=/v1/chat/completions [openai-stream-spaced]=/v1/chat/completions [anthropic-stream-spaced]=/v1/messages [bare-proxy]=/v1/chat/completions [openai-chat]=/v1/chat/completions [openai-stream]=/v1/chat/completions [anthropic-to-openai]=/v1/messages [anthropic-stream]=/v1/messages [pass-through]=/v1/messages [responses-to-openai]=/v1/responses [responses-stream]=/v1/responses [anthropic-to-responses]=/v1/messages [anthropic-to-responses-stream]=/v1/messages)
# What the mock itself is asked in the same scenario, for the side-by-side figure.
DIRECT=([openai-chat-otel]="/v1/chat/completions|${BODY[openai-chat]}" [openai-stream-otel]="/v1/chat/completions|${BODY[openai-stream]}" [openai-chat-redis]="/v1/chat/completions|${BODY[openai-chat]}" [openai-stream-redis]="/v1/chat/completions|${BODY[openai-stream]}" [bare-proxy-stream]="/v1/chat/completions|${BODY[openai-stream]}" [openai-stream-spaced]="/v1/chat/completions|${BODY[openai-stream]}" [anthropic-stream-spaced]="/v1/chat/completions|${BODY[openai-stream]}" [bare-proxy-stream-spaced]="/v1/chat/completions|${BODY[openai-stream]}" [openai-chat]="/v1/chat/completions|${BODY[openai-chat]}" [openai-stream]="/v1/chat/completions|${BODY[openai-stream]}" [anthropic-to-openai]="/v1/chat/completions|${BODY[openai-chat]}" [anthropic-stream]="/v1/chat/completions|${BODY[openai-stream]}" [pass-through]="/v1/messages|${BODY[anthropic-to-openai]}" [bare-proxy]="/v1/chat/completions|${BODY[openai-chat]}" [responses-to-openai]="/v1/chat/completions|${BODY[openai-chat]}" [responses-stream]="/v1/chat/completions|${BODY[openai-stream]}" [anthropic-to-responses]="/v1/responses|$RESP_DIRECT" [anthropic-to-responses-stream]="/v1/responses|$RESP_DIRECT_STREAM")

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
run_oha() { # url body conc -> json file (the key in $auth)
  "$OHA" --no-tui --json -z "${SECS}s" -c "$3" -m POST -H 'content-type: application/json' \
    -H "authorization: Bearer ${auth:-$KEY}" -d "$2" "$1" >"$4" 2>/dev/null
}

echo "| scenario | conc | gateway rps | mock rps | ratio | p50 ms | p99 ms | p50 overhead us | CPU us/req |"
echo "|---|---|---|---|---|---|---|---|---|"
# MWS_BENCH_SCENARIOS and MWS_BENCH_CONC narrow a run (for profiling one case).
for s in $SCENARIOS; do
  url=$GW pid=$GW_PID mock=$MOCK auth=$KEY
  case "$s" in
    *-redis) url=$GWR pid=$GWR_PID auth=$KEY_REDIS ;;
    bare-proxy | bare-proxy-stream) url=$BARE pid=$BARE_PID ;;
    *-otel) url=$GW_OTEL pid=$GW_OTEL_PID ;;
    bare-proxy-stream-spaced) url=$BARE2 pid=$BARE2_PID mock=$MOCK2 ;;
    *-spaced) mock=$MOCK2 ;;
  esac
  for c in ${MWS_BENCH_CONC:-1 64}; do
    IFS='|' read -r dpath dbody <<<"${DIRECT[$s]}"
    run_oha "http://$mock$dpath" "$dbody" "$c" "$WORK/direct.json"
    [ "$pid" = "${GWR_PID:-}" ] && calls0=$(redis_calls)
    t0=$(cpu_ticks "$pid")
    run_oha "$url${PATHS[$s]}" "${BODY[$s]}" "$c" "$WORK/gw.json"
    t1=$(cpu_ticks "$pid")
    if [ "$pid" = "${GWR_PID:-}" ]; then
      python3 - "$s" "$c" "$WORK/gw.json" "$calls0" "$(redis_calls)" >>"$WORK/redis-calls.txt" <<'PY'
import json, sys
s, c, gw, before, after = sys.argv[1:6]
r = json.load(open(gw))
ok = sum(v for k, v in r["statusCodeDistribution"].items() if k.startswith("2"))
count = lambda t: {k: int(v) for k, v in (p.split("=") for p in t.split())}
b, a = count(before), count(after)
# The INFO command that read the counts is not the gateway's.
delta = {k: a[k] - b.get(k, 0) - (k == "info") for k in a}
delta = {k: n for k, n in delta.items() if n > 0}
detail = ", ".join(f"{k} {n / max(ok, 1):.2f}" for k, n in sorted(delta.items(), key=lambda kv: -kv[1]))
calls = sum(n for k, n in delta.items() if k.startswith(("evalsha", "eval")))
print(f"{s} c{c}: {calls / max(ok, 1):.2f} script calls, {sum(delta.values()) / max(ok, 1):.2f} commands in all ({detail})")
PY
    fi
    python3 - "$s" "$c" "$WORK/direct.json" "$WORK/gw.json" "$((t1 - t0))" "$(getconf CLK_TCK)" <<'PY'
import json, sys
s, c, direct, gw, ticks, hz = sys.argv[1], sys.argv[2], *map(lambda p: json.load(open(p)), sys.argv[3:5]), int(sys.argv[5]), int(sys.argv[6])
def fig(r):
    ok = sum(v for k, v in r["statusCodeDistribution"].items() if k.startswith("2"))
    lat = r["latencyPercentiles"]
    return r["summary"]["requestsPerSec"], lat["p50"] * 1000, lat["p99"] * 1000, ok
d_rps, d_p50, _, _ = fig(direct)
g_rps, g_p50, g_p99, g_ok = fig(gw)
cpu = ticks / hz * 1e6 / max(g_ok, 1)
print(f"| {s} | {c} | {g_rps:.0f} | {d_rps:.0f} | {g_rps / d_rps:.2f} | {g_p50:.3f} | {g_p99:.3f} | {(g_p50 - d_p50) * 1000:.0f} | {cpu:.1f} |")
PY
  done
done
echo
if [ -s "$WORK/redis-calls.txt" ]; then
  echo "Redis commands per request (INFO commandstats over each -redis run; a script's own commands count too):"
  echo
  sed 's/^/    /' "$WORK/redis-calls.txt"
  echo
  echo "peak RSS of the gateway on redis: $(awk '/VmHWM/ {print $2, $3}' /proc/$GWR_PID/status)"
fi
echo "idle RSS of the gateway: $IDLE_RSS; of the bare proxy: $BARE_IDLE_RSS"
echo "peak RSS of the gateway: $(awk '/VmHWM/ {print $2, $3}' /proc/$GW_PID/status); of the bare proxy: $(awk '/VmHWM/ {print $2, $3}' /proc/$BARE_PID/status); of the gateway with tracing on: $(awk '/VmHWM/ {print $2, $3}' /proc/$GW_OTEL_PID/status)"

python3 - "$GW_OTEL/metrics" <<'PY'
import re, sys, urllib.request
lines = urllib.request.urlopen(sys.argv[1]).read().decode().splitlines()
dropped = [m.groups() for m in map(re.compile(r'mws_telemetry_spans_dropped_total\{reason="(\w+)"\} (\S+)').match, lines) if m]
print("spans the tracing gateway dropped:", ", ".join(f"{reason} {n}" for reason, n in dropped))
PY

[ -n "${MWS_BENCH_SKIP_ACCOUNTING:-}" ] && exit 0
# The HTTP processes are done: stopped, so nothing else wakes on core 0.
kill "$GW_PID" "$GW_OTEL_PID" "$BARE_PID" "$BARE2_PID" "$MOCK_PID" "$MOCK2_PID" ${GWR_PID:-} ${REDIS_PID:-} 2>/dev/null || true
wait 2>/dev/null || true
echo
echo "Accounting on and off, in-process (bench/src/accounting.rs), one core:"
echo
taskset -c 0 "$BIN/accounting"
