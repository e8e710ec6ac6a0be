// /dashboard/usage: an account's ledger as a paged table, and its spend and
// tokens per day as charts split by profile; optionally one profile only.

import { accountPath, api, listAccounts, withQuery } from "./api.js";
import { COLOURS, barChart, shortCount, shortUsd } from "./chart.js";
import { accountPicker, h, int, noAccounts, pickAccount, run, setParam, table, time, usd, usdExact } from "./ui.js";

const PAGE = 20;
const DAY_CHOICES = [7, 30, 90];

const tokens = (x) => x.input_tokens + x.output_tokens;

function ledgerRow(r) {
  return h(
    "tr",
    { "data-request-id": r.request_id },
    h("td", {}, time(r.time)),
    h("td", {}, h("code", {}, r.request_id)),
    h("td", {}, h("code", {}, r.key_id)),
    h("td", { class: "profile" }, r.profile),
    h("td", { class: "num input" }, int(r.input_tokens)),
    h("td", { class: "num cache-read" }, int(r.cache_read_tokens)),
    h("td", { class: "num cache-write" }, int(r.cache_write_tokens)),
    h("td", { class: "num" }, int(r.output_tokens)),
    h("td", { class: "num" }, usdExact(r.cost_usd)),
    h("td", { class: "num" }, r.status),
  );
}

function stat(label, value) {
  return h("div", { class: "stat" }, h("span", {}, label), h("strong", {}, value));
}

/** The shown profiles, each in its colour among `all` (the same as in the bars). */
function legend(shown, all) {
  return h(
    "ul",
    { class: "legend" },
    shown.map((p) => h("li", {}, h("span", { class: `swatch c${all.indexOf(p) % COLOURS}` }), p)),
  );
}

export default async function usage(root, params, ctx) {
  root.append(h("h1", {}, "Usage"));
  const { data } = await listAccounts();
  if (ctx.stale()) return;
  if (data.length === 0) {
    root.append(noAccounts());
    return;
  }
  let account = pickAccount(data, params);
  let profile = params.get("profile") ?? "";
  let days = DAY_CHOICES.includes(Number(params.get("days"))) ? Number(params.get("days")) : 30;
  let offset = 0;
  // Profiles seen on the account, kept while one of them is filtered on.
  let known = [];

  const profileSelect = h("select", { id: "profile" });
  const daysSelect = h(
    "select",
    { id: "days" },
    DAY_CHOICES.map((d) => h("option", { value: d, selected: d === days }, `last ${d} days`)),
  );
  const summary = h("div", { class: "stats", id: "totals" });
  const charts = h("div", { class: "charts" });
  const rows = h("div", { id: "ledger" });
  const newer = h("button", { type: "button", id: "newer", class: "quiet" }, "← Newer");
  const older = h("button", { type: "button", id: "older", class: "quiet" }, "Older →");
  const position = h("span", { id: "page-position" });

  async function load() {
    const report = await api(
      "GET",
      withQuery(`${accountPath(account.id)}/usage`, { by: "day", days, limit: PAGE, offset, order: "desc", profile }),
    );
    if (!profile) known = report.by_profile.map((p) => p.profile);
    else if (!known.includes(profile)) known = [...known, profile];
    profileSelect.replaceChildren(
      h("option", { value: "" }, "all profiles"),
      ...known.map((p) => h("option", { value: p, selected: p === profile }, p)),
    );
    const t = report.totals;
    summary.replaceChildren(
      stat("Requests", int(t.requests)),
      stat("Input tokens", int(t.input_tokens)),
      stat("Cache read tokens", int(t.cache_read_tokens)),
      stat("Cache write tokens", int(t.cache_write_tokens)),
      stat("Output tokens", int(t.output_tokens)),
      stat("Spend", usd(t.cost_usd)),
    );
    const shown = profile ? [profile] : known;
    charts.replaceChildren(
      h(
        "figure",
        { class: "card" },
        h("figcaption", {}, "Spend per day (USD, UTC days)"),
        barChart({ id: "spend-chart", title: "Spend per day", days: report.daily, profiles: known, value: (x) => x.cost_usd, format: shortUsd }),
      ),
      h(
        "figure",
        { class: "card" },
        h("figcaption", {}, "Tokens per day (input + output)"),
        barChart({ id: "tokens-chart", title: "Tokens per day", days: report.daily, profiles: known, value: tokens, format: shortCount }),
      ),
      legend(shown, known),
    );
    const page = report.page;
    rows.replaceChildren(
      report.data.length === 0
        ? h("p", { class: "empty" }, "No requests in the ledger yet.")
        : table("usage-table", ["Time", "Request", "Key", "Profile", "Input", "Cache read", "Cache write", "Output", "Cost", "Status"], report.data.map(ledgerRow)),
    );
    position.textContent =
      page.rows === 0 ? "0 rows" : `rows ${page.offset + 1}–${page.offset + report.data.length} of ${page.rows}, newest first`;
    newer.disabled = offset === 0;
    older.disabled = !page.has_more;
  }

  const reload = () => run(null, load);
  const picker = accountPicker(data, account.id, (id) => {
    account = data.find((a) => a.id === id);
    setParam("account", id);
    profile = "";
    setParam("profile", "");
    offset = 0;
    reload();
  });
  profileSelect.addEventListener("change", () => {
    profile = profileSelect.value;
    setParam("profile", profile);
    offset = 0;
    reload();
  });
  daysSelect.addEventListener("change", () => {
    days = Number(daysSelect.value);
    setParam("days", days);
    reload();
  });
  newer.addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE);
    run(newer, load);
  });
  older.addEventListener("click", () => {
    offset += PAGE;
    run(older, load);
  });
  const refresh = h("button", { type: "button", id: "refresh", class: "quiet", onclick: () => run(refresh, load) }, "Refresh");

  root.append(
    h("div", { class: "controls" }, picker, h("label", { class: "picker" }, "Profile ", profileSelect), h("label", { class: "picker" }, "Days ", daysSelect), refresh),
    summary,
    charts,
    h("h2", {}, "Ledger"),
    rows,
    h("div", { class: "pager", id: "pager" }, newer, position, older),
  );
  await load();
}
