// /dashboard/deployments: each deployment (an upstream and the model it is
// asked for) with its health: healthy, cooling down after a 429 (until its
// reset), circuit open after failures, or half-open (one trial call); its
// calls in flight, requests, errors, recent latency and error rate, and the
// profiles that use it. Refreshes every few seconds while shown.

import { api } from "./api.js";
import { h, table } from "./ui.js";

const STATES = {
  healthy: "healthy",
  cooling_down: "cooling down (rate limited)",
  circuit_open: "circuit open",
  half_open: "half-open (one trial call)",
};

function until(d) {
  const at = d.cooldown_until ?? d.circuit_open_until;
  if (d.state === "healthy" || d.state === "half_open" || !at) return "";
  return `for ${d.available_in_secs.toFixed(1)} s (until ${new Date(at).toLocaleTimeString()})`;
}

function uses(d) {
  return d.profiles
    .map((p) => (p.role === "fallback" ? `${p.id} (fallback)` : `${p.id} (weight ${p.weight})`))
    .join(", ");
}

function row(d) {
  return h(
    "tr",
    { "data-deployment": d.id, "data-state": d.state },
    h("td", {}, h("code", {}, d.upstream)),
    h("td", {}, h("code", {}, d.upstream_model)),
    h("td", { class: `state state-${d.state}` }, STATES[d.state] ?? d.state, " ", h("small", {}, until(d))),
    h("td", { class: "num in-flight" }, String(d.in_flight)),
    h("td", { class: "num requests" }, String(d.requests)),
    h("td", { class: "num errors" }, String(d.errors)),
    h("td", { class: "num" }, d.requests > 0 ? `${d.latency_ms} ms` : "–"),
    h("td", { class: "num" }, `${(d.error_rate * 100).toFixed(1)} %`),
    h("td", {}, uses(d)),
  );
}

export default async function deployments(root, _params, ctx) {
  const list = h("div", { id: "deployments" });
  const summary = h("p", { id: "deployments-summary", class: "lead" });

  async function load() {
    const report = await api("GET", "/admin/deployments");
    if (ctx.stale()) return false;
    const unhealthy = report.data.filter((d) => d.state !== "healthy").length;
    summary.textContent =
      `${report.data.length} deployment(s), ${unhealthy} not healthy; ` +
      `${report.sticky_sessions} conversation(s) pinned by sticky sessions.`;
    list.replaceChildren(
      table(
        "deployments-table",
        ["Upstream", "Model", "State", "In flight", "Requests", "Errors", "Latency", "Error rate", "Profiles"],
        report.data.map(row),
      ),
    );
    return true;
  }

  root.append(
    h("h1", {}, "Deployments"),
    h(
      "p",
      { class: "lead" },
      "Each upstream and model the profiles send to. A 429 cools a deployment down until its reset; consecutive failures open its circuit, then one trial call closes or reopens it. Calls skip what is not healthy.",
    ),
    summary,
    list,
  );
  await load();
  // Live while this page is shown; stops once another page renders.
  const timer = setInterval(async () => {
    try {
      if (!(await load())) clearInterval(timer);
    } catch {
      clearInterval(timer);
    }
  }, 3000);
}
