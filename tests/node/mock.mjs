// The scripted mock upstream ($MWS_MOCK_BIN, `mock-upstream --record`) for the
// Node tests: Chat Completions, Messages, Responses, embeddings and rerank on
// one loopback address, answering from a queue filled through its /_mock
// control routes (core/src/testing.rs) and recording every request, so a test
// asserts both what its client got and what the upstream was sent.
// `mockProfiles` is the gateway config that puts `via-openai`, `via-anthropic`
// and `via-responses` on it (as tests/python/conftest.py's
// `echo_and_mock_profiles` does), `dragon` on the echo.

import { spawn } from "node:child_process";

const START_TIMEOUT_MS = 15_000;

/** The keys the gateway sends to each kind of upstream on the mock. */
export const MOCK_KEYS = {
  MOCK_OPENAI_KEY: "sk-up-openai-test",
  MOCK_ANTHROPIC_KEY: "sk-ant-up-test",
  MOCK_OPENAI_RESPONSES_KEY: "sk-up-responses-test",
};

/** The upstream model of each profile on the mock. */
export const UPSTREAM_MODELS = { "via-openai": "up-gpt", "via-anthropic": "up-claude", "via-responses": "up-resp" };

export class MockUpstream {
  static async start() {
    const binary = process.env.MWS_MOCK_BIN;
    if (!binary) {
      throw new Error(
        "MWS_MOCK_BIN is not set: run scripts/test.sh, or `cargo build -p mws-bench --bin mock-upstream` and export its path",
      );
    }
    const proc = spawn(binary, ["--record"], { stdio: ["ignore", "pipe", "inherit"] });
    const addr = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("mock-upstream did not announce its address")), START_TIMEOUT_MS);
      let seen = "";
      proc.stdout.setEncoding("utf8");
      proc.stdout.on("data", (chunk) => {
        seen += chunk;
        const m = seen.match(/listening on (127\.0\.0\.1:\d+)/);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      proc.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`mock-upstream exited (${code}) before listening: ${seen}`));
      });
    });
    return new MockUpstream(proc, addr);
  }

  constructor(proc, addr) {
    this.proc = proc;
    this.addr = addr;
    this.exited = new Promise((resolve) => proc.on("exit", resolve));
  }

  /** What an [[upstreams]] entry takes as base_url. */
  get baseUrl() {
    return `http://${this.addr}/v1`;
  }

  async #control(method, path, body) {
    const response = await fetch(`http://${this.addr}/_mock${path}`, {
      method,
      headers: { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} /_mock${path}: ${response.status} ${await response.text()}`);
    return response.status === 204 ? null : response.json();
  }

  /** Queues replies: {json, status, headers}, {openai_chunks}, {anthropic_events}, {responses_events}. */
  async push(...replies) {
    await this.#control("POST", "/replies", { replies });
  }

  /** [{path, headers, body}] of every request, oldest first. */
  async received() {
    return this.#control("GET", "/received");
  }

  /** Drops queued replies and recorded requests. */
  async reset() {
    await this.#control("DELETE", "/replies");
    await this.#control("DELETE", "/received");
  }

  async stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill("SIGINT");
      await this.exited;
    }
  }
}

/** `dragon` on the echo, and one profile per upstream kind on the mock at `baseUrl`. */
export function mockProfiles(baseUrl) {
  const profile = (id, upstream, model) => `
[[profiles]]
id = "${id}"
upstream = "${upstream}"
upstream_model = "${model}"
context_window = 200000
tokens_per_second = 100
input_price_per_mtok = 1.0
output_price_per_mtok = 2.0
`;
  const upstream = (name, kind, keyEnv) => `
[[upstreams]]
name = "${name}"
kind = "${kind}"
base_url = "${baseUrl}"
api_key_env = "${keyEnv}"
max_retries = 0
`;
  return `
[[upstreams]]
name = "echo"
kind = "echo"
${upstream("mock-openai", "openai", "MOCK_OPENAI_KEY")}${upstream("mock-anthropic", "anthropic", "MOCK_ANTHROPIC_KEY")}${upstream("mock-openai-responses", "openai-responses", "MOCK_OPENAI_RESPONSES_KEY")}${profile("dragon", "echo", "echo")}${profile("via-openai", "mock-openai", UPSTREAM_MODELS["via-openai"])}${profile("via-anthropic", "mock-anthropic", UPSTREAM_MODELS["via-anthropic"])}${profile("via-responses", "mock-openai-responses", UPSTREAM_MODELS["via-responses"])}
[routing]
default_profile = "dragon"
aliases = {}
`;
}
