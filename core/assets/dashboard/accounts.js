// /dashboard: every account with its balance, lifetime spend, plan and tier;
// a form to create one.

import { api, listAccounts } from "./api.js";
import { h, noAccounts, run, showNotice, table, tierText, usd } from "./ui.js";

function row(a) {
  const q = `?account=${encodeURIComponent(a.id)}`;
  return h(
    "tr",
    { "data-account-id": a.id },
    h("td", {}, h("strong", {}, a.name)),
    h("td", {}, h("code", {}, a.id)),
    h("td", { class: "num balance" }, usd(a.balance_usd)),
    h("td", { class: "num" }, usd(a.lifetime_spend_usd)),
    h("td", {}, a.plan ?? "none"),
    h("td", { class: "tier" }, tierText(a.tier)),
    h(
      "td",
      { class: "links" },
      h("a", { href: `/dashboard/credits${q}` }, "Add credits"),
      h("a", { href: `/dashboard/keys${q}` }, "Keys"),
      h("a", { href: `/dashboard/usage${q}` }, "Usage"),
    ),
  );
}

export default async function accounts(root, _params, ctx) {
  const name = h("input", { id: "account-name", required: true, maxlength: 200, placeholder: "team name" });
  const submit = h("button", { type: "submit" }, "Create account");
  const list = h("div", { id: "accounts" });

  async function load() {
    const { data } = await listAccounts();
    if (ctx.stale()) return;
    list.replaceChildren(
      data.length === 0
        ? noAccounts()
        : table(
            "accounts-table",
            ["Name", "ID", "Balance", "Lifetime spend", "Plan", "Tier (rpm, tpm)", ""],
            data.map(row),
          ),
    );
  }

  const form = h(
    "form",
    {
      id: "create-account",
      class: "card inline",
      onsubmit: (ev) => {
        ev.preventDefault();
        run(submit, async () => {
          const a = await api("POST", "/admin/accounts", { name: name.value });
          name.value = "";
          showNotice(`Created account ${a.name} (${a.id}). Add credits to it before creating a key.`);
          await load();
        });
      },
    },
    h("label", {}, "New account ", name),
    submit,
  );

  root.append(
    h("h1", {}, "Accounts"),
    h(
      "p",
      { class: "lead" },
      "Balances and lifetime spend in USD. The tier sets each account's requests and tokens per minute; it rises with lifetime spend and plan.",
    ),
    form,
    list,
  );
  await load();
}
