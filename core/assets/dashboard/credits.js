// /dashboard/credits: adds credits to an account.

import { accountPath, api, listAccounts } from "./api.js";
import { accountPicker, h, noAccounts, pickAccount, run, setParam, showNotice, usd } from "./ui.js";

export default async function credits(root, params, ctx) {
  root.append(h("h1", {}, "Credits"));
  const { data } = await listAccounts();
  if (ctx.stale()) return;
  if (data.length === 0) {
    root.append(noAccounts());
    return;
  }
  let account = pickAccount(data, params);
  const balance = h("p", { id: "balance", class: "balance-line" });
  const showBalance = () =>
    balance.replaceChildren(
      "Balance ",
      h("strong", {}, usd(account.balance_usd)),
      ` · lifetime spend ${usd(account.lifetime_spend_usd)}`,
    );
  showBalance();

  const picker = accountPicker(data, account.id, (id) => {
    account = data.find((a) => a.id === id);
    setParam("account", id);
    showBalance();
  });
  // Plain text, not type=number: the gateway checks the amount and says what is wrong.
  const amount = h("input", { id: "amount", inputmode: "decimal", autocomplete: "off", placeholder: "30.00" });
  const submit = h("button", { type: "submit" }, "Add credits");
  const form = h(
    "form",
    {
      id: "add-credits",
      class: "card inline",
      onsubmit: (ev) => {
        ev.preventDefault();
        run(submit, async () => {
          // Sent as text, which the gateway parses exactly (no float rounding).
          const value = amount.value.trim();
          const updated = await api("POST", `${accountPath(account.id)}/credits`, { amount_usd: value });
          Object.assign(account, updated);
          amount.value = "";
          showBalance();
          picker.querySelector(`option[value="${CSS.escape(account.id)}"]`).textContent =
            `${account.name} (${account.id}) · ${usd(account.balance_usd)}`;
          showNotice(`Added ${usd(value)} to ${account.name}: the balance is now ${usd(account.balance_usd)}.`);
        });
      },
    },
    h("label", {}, "Amount in USD ", amount),
    submit,
  );
  root.append(
    h("p", { class: "lead" }, "A key can be created once an account holds at least $25 of credits (or has a plan)."),
    picker,
    balance,
    form,
  );
}
