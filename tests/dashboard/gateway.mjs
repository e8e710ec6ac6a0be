// Starts a real `mws-gateway` for the dashboard test: its own temporary
// directory holding the config and the sqlite store, the admin API on with a
// random token, listening on 127.0.0.1 port 0 (it announces the address).

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const LISTENING = /mws-gateway listening on (http:\/\/127\.0\.0\.1:\d+)/;

// Two tiers, so the accounts page has a tier to show, and limits high enough
// that only the key throttle the test sets can bind.
const CONFIG = `
[store]
kind = "sqlite"
path = "gateway.db"

[admin]
token_env = "MWS_ADMIN_TOKEN"

[limits]
unauthenticated_rpm_per_ip = 10000
unauthenticated_tpm_per_ip = 100000000

[[limits.tiers]]
min_lifetime_spend_usd = 0
rpm = 1000
tpm = 10000000

[[limits.tiers]]
min_lifetime_spend_usd = 50
rpm = 5000
tpm = 50000000
`;

export class Gateway {
  static async start() {
    const binary = process.env.MWS_GATEWAY_BIN;
    if (!binary) {
      throw new Error(
        "MWS_GATEWAY_BIN is not set: run scripts/test.sh, or `cargo build -p mws-core --bin mws-gateway` and export its path",
      );
    }
    const dir = mkdtempSync(path.join(tmpdir(), "mws-dashboard-"));
    writeFileSync(path.join(dir, "gateway.toml"), CONFIG);
    const token = `mws-dashboard-test-${randomBytes(16).toString("hex")}`;
    const env = { ...process.env, MWS_ADMIN_TOKEN: token };
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

  /** An admin API call made by the test itself, to check what the page did. */
  async admin(method, apiPath, body) {
    const response = await fetch(this.url + apiPath, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  }

  /** A chat completion with an API key, over plain HTTP. */
  async chat(key, model, text) {
    const response = await fetch(`${this.url}/v1/chat/completions`, {
      method: "POST",
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: text }] }),
    });
    return { status: response.status, headers: response.headers, body: await response.json() };
  }
}
