// Starts a real `mws-gateway` ($MWS_GATEWAY_BIN) for the Node SDK tests: its own
// temporary directory holding the config and the sqlite store, the built-in
// catalogue on the echo upstream, the admin API on with a random token, high
// limits, listening on 127.0.0.1 port 0 (it announces the address).

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const LISTENING = /mws-gateway listening on (http:\/\/127\.0\.0\.1:\d+)/;

const CONFIG = `
[store]
kind = "sqlite"
path = "gateway.db"

[admin]
token_env = "MWS_ADMIN_TOKEN"

[limits]
unauthenticated_rpm_per_ip = 100000
unauthenticated_tpm_per_ip = 1000000000

[[limits.tiers]]
min_lifetime_spend_usd = 0
rpm = 100000
tpm = 1000000000
`;

/** The echo as `dragon`; `via-openai` / `via-anthropic` translated to an
 * upstream gateway at `upstreamUrl` (its key in $MWS_UPSTREAM_KEY), and
 * `via-responses` on the same gateway as an `openai-responses` upstream (it
 * serves /v1/responses on the echo): Responses requests are relayed to it,
 * Chat Completions and Messages requests translated to the Responses API. */
export function translatedProfiles(upstreamUrl) {
  const profile = (id, upstream) => `
[[profiles]]
id = "${id}"
upstream = "${upstream}"
upstream_model = "dragon"
context_window = 262144
tokens_per_second = 189
input_price_per_mtok = 0.48
output_price_per_mtok = 1.08
`;
  return `
[[upstreams]]
name = "echo"
kind = "echo"

[[upstreams]]
name = "oa"
kind = "openai"
base_url = "${upstreamUrl}/v1"
api_key_env = "MWS_UPSTREAM_KEY"

[[upstreams]]
name = "an"
kind = "anthropic"
base_url = "${upstreamUrl}/v1"
api_key_env = "MWS_UPSTREAM_KEY"

[[upstreams]]
name = "resp"
kind = "openai-responses"
base_url = "${upstreamUrl}/v1"
api_key_env = "MWS_UPSTREAM_KEY"
${profile("dragon", "echo")}${profile("via-openai", "oa")}${profile("via-anthropic", "an")}${profile("via-responses", "resp")}`;
}

export class Gateway {
  /** `extraConfig` is appended to the config; `extraEnv` joins the environment. */
  static async start(extraConfig = "", extraEnv = {}) {
    const binary = process.env.MWS_GATEWAY_BIN;
    if (!binary) {
      throw new Error(
        "MWS_GATEWAY_BIN is not set: run scripts/test.sh, or `cargo build -p mws-core --bin mws-gateway` and export its path",
      );
    }
    const dir = mkdtempSync(path.join(tmpdir(), "mws-node-sdk-"));
    writeFileSync(path.join(dir, "gateway.toml"), CONFIG + extraConfig);
    const token = `mws-node-test-${randomBytes(16).toString("hex")}`;
    const env = { ...process.env, ...extraEnv, MWS_ADMIN_TOKEN: token };
    delete env.MWS_CONFIG;
    const proc = spawn(binary, ["--config", "gateway.toml", "serve", "--listen", "127.0.0.1:0"], {
      cwd: dir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const gw = new Gateway(proc, dir, token);
    await gw.#announced();
    return gw;
  }

  constructor(proc, dir, token) {
    this.proc = proc;
    this.dir = dir;
    this.token = token;
    this.url = null;
    this.log = [];
    this.exited = new Promise((resolve) => proc.on("exit", resolve));
  }

  #announced() {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`mws-gateway did not announce its address in time:\n${this.log.join("\n")}`));
      }, START_TIMEOUT_MS);
      const read = (stream) => {
        let rest = "";
        stream.setEncoding("utf8");
        stream.on("data", (chunk) => {
          const lines = (rest + chunk).split("\n");
          rest = lines.pop();
          for (const line of lines) {
            this.log.push(line);
            const m = !this.url && line.match(LISTENING);
            if (m) {
              this.url = m[1];
              clearTimeout(timer);
              resolve();
            }
          }
        });
      };
      read(this.proc.stdout);
      read(this.proc.stderr);
      this.proc.on("exit", (code) => {
        clearTimeout(timer);
        if (!this.url) reject(new Error(`mws-gateway exited (${code}) before listening:\n${this.log.join("\n")}`));
      });
    });
  }

  /** SIGTERM (a graceful drain), SIGKILL if it lingers; then the temp dir goes. */
  async stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill("SIGTERM");
      const timer = setTimeout(() => this.proc.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  async #admin(method, apiPath, body) {
    const response = await fetch(this.url + apiPath, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await response.json();
    if (!response.ok) throw new Error(`${method} ${apiPath}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  }

  /** A new account holding `usd` of credits, and one key of it (the secret). */
  async newKey(name, usd = 100) {
    const account = await this.#admin("POST", "/admin/accounts", { name });
    await this.#admin("POST", `/admin/accounts/${account.id}/credits`, { amount_usd: usd });
    const key = await this.#admin("POST", `/admin/accounts/${account.id}/keys`, { name: `${name}-key` });
    return key.key;
  }
}
