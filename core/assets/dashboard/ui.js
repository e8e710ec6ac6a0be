// Small DOM helpers shared by the views: an element builder, the error and
// notice banners, number formats, a confirmation dialog and the account picker.

const $ = (selector) => document.querySelector(selector);

/** `h("a", {href: "/x", class: "y"}, "text", child)`; `on*` attributes become listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** Shows what went wrong, with the gateway's message; never swallowed. */
export function showError(err) {
  const box = $("#error");
  const status = err && err.status ? ` (HTTP ${err.status})` : "";
  const message = err && err.message ? err.message : String(err);
  box.replaceChildren(h("strong", {}, "Error: "), message + status);
  box.hidden = false;
  $("#notice").hidden = true;
  box.scrollIntoView({ block: "nearest" });
}

export function showNotice(text) {
  const box = $("#notice");
  box.textContent = text;
  box.hidden = false;
  $("#error").hidden = true;
}

export function clearMessages() {
  $("#error").hidden = true;
  $("#notice").hidden = true;
}

/**
 * Runs an action from a button: disables it meanwhile, shows any error. The
 * error is also passed on to `onError` (the app signs out on a 401).
 */
export async function run(button, action) {
  if (button) button.disabled = true;
  try {
    await action();
  } catch (e) {
    handleError(e);
  } finally {
    if (button) button.disabled = false;
  }
}

let errorHook = null;
export function onError(hook) {
  errorHook = hook;
}
export function handleError(e) {
  if (!(errorHook && errorHook(e))) showError(e);
}

/** USD: cents when the amount is a cent or more, else every digit (to 9 decimals). */
export function usd(n) {
  const v = Number(n ?? 0);
  if (v === 0) return "$0.00";
  if (Math.abs(v) >= 0.01) {
    return (v < 0 ? "-$" : "$") + Math.abs(v).toLocaleString("en-US", {
      minimumFractionDigits: 2,
      maximumFractionDigits: 2,
    });
  }
  return (v < 0 ? "-$" : "$") + Math.abs(v).toFixed(9).replace(/0+$/, "");
}

/** Every digit of a USD amount, up to 9 decimals. */
export function usdExact(n) {
  const v = Number(n ?? 0);
  const s = Math.abs(v).toFixed(9).replace(/0+$/, "").replace(/\.$/, ".00");
  return (v < 0 ? "-$" : "$") + s;
}

export const int = (n) => Number(n ?? 0).toLocaleString("en-US");

export function time(unixSeconds) {
  const d = new Date(Number(unixSeconds) * 1000);
  const pad = (x) => String(x).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Asks before something that cannot be undone; resolves to true on confirm. */
export function confirmDialog(text, confirmLabel) {
  const dialog = $("#confirm");
  $("#confirm-text").textContent = text;
  $("#confirm-ok").textContent = confirmLabel;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), {
      once: true,
    });
    dialog.showModal();
  });
}

/** The tier of an account as one line: "1 · 600 rpm · 2,000,000 tpm". */
export function tierText(tier) {
  if (!tier) return "no limits";
  return `${tier.index} · ${int(tier.rpm)} rpm · ${int(tier.tpm)} tpm`;
}

/**
 * A labelled select of the accounts; `onChange(id)` runs when another is picked.
 * Returns the label element (holding the select, id `account`).
 */
export function accountPicker(accounts, selected, onChange) {
  const select = h(
    "select",
    { id: "account", onchange: () => onChange(select.value) },
    accounts.map((a) =>
      h("option", { value: a.id, selected: a.id === selected }, `${a.name} (${a.id}) · ${usd(a.balance_usd)}`),
    ),
  );
  return h("label", { class: "picker" }, "Account ", select);
}

/** The account named in the page's `?account=`, else the first one. */
export function pickAccount(accounts, params) {
  const wanted = params.get("account");
  return accounts.find((a) => a.id === wanted) ?? accounts[0] ?? null;
}

/** Sets `?name=value` on the current URL without a new history entry. */
export function setParam(name, value) {
  const url = new URL(location.href);
  if (value) url.searchParams.set(name, value);
  else url.searchParams.delete(name);
  history.replaceState(null, "", url);
}

/** A paragraph telling there is no account yet, linking to the accounts page. */
export function noAccounts() {
  return h(
    "p",
    { class: "empty" },
    "No accounts yet: ",
    h("a", { href: "/dashboard" }, "create one on the Accounts page"),
    ".",
  );
}

/** A table inside a box that scrolls sideways on a narrow screen. */
export function table(id, headings, rows) {
  return h(
    "div",
    { class: "table-wrap" },
    h("table", { id }, h("thead", {}, h("tr", {}, headings.map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows)),
  );
}
