// /dashboard/keys: an account's keys. Create one (its secret shown this once,
// with a copy button), set or clear its rpm/tpm throttle, revoke it.

import { accountPath, api, keyPath, listAccounts } from "./api.js";
import {
  accountPicker,
  confirmDialog,
  h,
  noAccounts,
  pickAccount,
  run,
  setParam,
  showError,
  showNotice,
  table,
  tierText,
  time,
} from "./ui.js";

/** A throttle field's value: a whole number, or null (no limit of its own). */
function limitValue(input) {
  const t = input.value.trim();
  return t === "" ? null : Number(t);
}

function describe(k) {
  const part = (v, unit) => (v == null ? `no ${unit} limit` : `${v} ${unit}`);
  return `${part(k.rpm, "rpm")}, ${part(k.tpm, "tpm")}`;
}

/** The panel that shows a new key's secret once. */
function secretPanel(created) {
  const value = h("code", { id: "new-key-value" }, created.key);
  const copy = h("button", { type: "button", id: "copy-key" }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(created.key);
      copy.textContent = "Copied";
    } catch (e) {
      // Leave the key selected so it can be copied by hand.
      getSelection().selectAllChildren(value);
      showError(new Error(`could not copy to the clipboard (${e.message}): the key is selected, copy it by hand`));
    }
  });
  const panel = h(
    "div",
    { id: "new-key", class: "card secret", role: "region", "aria-label": "New key" },
    h("p", { class: "warning" }, h("strong", {}, "Copy this key now. "), "It is shown only this once: the gateway keeps only its hash and cannot show it again. Keep it secret."),
    h("div", { class: "secret-line" }, value, copy),
    h("button", { type: "button", class: "quiet", onclick: () => panel.remove() }, "I have saved it"),
  );
  return panel;
}

function keyRow(k, reload) {
  const rpm = h("input", { name: "rpm", type: "number", min: 1, step: 1, value: k.rpm ?? "", placeholder: "ceiling", disabled: k.revoked, "aria-label": `rpm of ${k.name}` });
  const tpm = h("input", { name: "tpm", type: "number", min: 1, step: 1, value: k.tpm ?? "", placeholder: "ceiling", disabled: k.revoked, "aria-label": `tpm of ${k.name}` });
  const save = h("button", { type: "button", class: "save-throttle" }, "Save throttle");
  save.addEventListener("click", () =>
    run(save, async () => {
      const updated = await api("PATCH", keyPath(k.id), { rpm: limitValue(rpm), tpm: limitValue(tpm) });
      showNotice(`Throttle of key ${updated.name} saved: ${describe(updated)}.`);
      await reload();
    }),
  );
  const revoke = h("button", { type: "button", class: "danger revoke" }, "Revoke");
  revoke.addEventListener("click", () =>
    run(revoke, async () => {
      const sure = await confirmDialog(
        `Revoke key ${k.name} (${k.prefix}…)? Every request with it gets 401 from now on. This cannot be undone.`,
        "Revoke key",
      );
      if (!sure) return;
      const updated = await api("DELETE", keyPath(k.id));
      showNotice(`Key ${updated.name} (${updated.prefix}…) is revoked.`);
      await reload();
    }),
  );
  return h(
    "tr",
    { "data-key-id": k.id, class: k.revoked ? "revoked" : "" },
    h("td", {}, h("strong", {}, k.name)),
    h("td", {}, h("code", {}, `${k.prefix}…`)),
    h("td", {}, time(k.created_at)),
    h("td", { class: "status" }, k.revoked ? "revoked" : "active"),
    h("td", {}, rpm),
    h("td", {}, tpm),
    h("td", { class: "links" }, k.revoked ? "" : [save, revoke]),
  );
}

export default async function keys(root, params, ctx) {
  root.append(h("h1", {}, "Keys"));
  const { data } = await listAccounts();
  if (ctx.stale()) return;
  if (data.length === 0) {
    root.append(noAccounts());
    return;
  }
  let account = pickAccount(data, params);
  const ceiling = h("p", { class: "lead", id: "ceiling" });
  const list = h("div", { id: "keys" });
  const secretSlot = h("div");

  async function load() {
    ceiling.textContent = `Account tier ${tierText(account.tier)}. A key's own throttle can only lower these; leave a field empty for the account's ceiling.`;
    const { data: found } = await api("GET", `${accountPath(account.id)}/keys`);
    list.replaceChildren(
      found.length === 0
        ? h("p", { class: "empty" }, "This account has no keys yet.")
        : table("keys-table", ["Name", "Key", "Created", "Status", "RPM", "TPM", ""], found.map((k) => keyRow(k, load))),
    );
  }

  const picker = accountPicker(data, account.id, (id) => {
    account = data.find((a) => a.id === id);
    setParam("account", id);
    secretSlot.replaceChildren();
    run(null, load);
  });
  const name = h("input", { id: "key-name", placeholder: "default", maxlength: 200 });
  const rpm = h("input", { id: "key-rpm", type: "number", min: 1, step: 1, placeholder: "optional" });
  const tpm = h("input", { id: "key-tpm", type: "number", min: 1, step: 1, placeholder: "optional" });
  const submit = h("button", { type: "submit" }, "Create key");
  const form = h(
    "form",
    {
      id: "create-key",
      class: "card inline",
      onsubmit: (ev) => {
        ev.preventDefault();
        run(submit, async () => {
          const body = { name: name.value.trim() || "default" };
          if (limitValue(rpm) !== null) body.rpm = limitValue(rpm);
          if (limitValue(tpm) !== null) body.tpm = limitValue(tpm);
          const created = await api("POST", `${accountPath(account.id)}/keys`, body);
          name.value = rpm.value = tpm.value = "";
          secretSlot.replaceChildren(secretPanel(created));
          showNotice(`Created key ${created.name} for ${account.name}.`);
          await load();
        });
      },
    },
    h("label", {}, "Name ", name),
    h("label", {}, "RPM ", rpm),
    h("label", {}, "TPM ", tpm),
    submit,
  );
  root.append(picker, ceiling, form, secretSlot, list);
  await load();
}
