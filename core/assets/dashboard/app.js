// The dashboard's entry: signs in with the admin token, then routes between
// the five pages on the client (each path serves this same document).

import { api, clearToken, getToken, setToken } from "./api.js";
import { clearMessages, handleError, onError, showError, showNotice } from "./ui.js";
import accounts from "./accounts.js";
import credits from "./credits.js";
import keys from "./keys.js";
import usage from "./usage.js";
import deployments from "./deployments.js";

const VIEWS = {
  "/dashboard": accounts,
  "/dashboard/": accounts,
  "/dashboard/credits": credits,
  "/dashboard/keys": keys,
  "/dashboard/usage": usage,
  "/dashboard/deployments": deployments,
};

const $ = (selector) => document.querySelector(selector);

// A 401 means the token is wrong (or was changed on the gateway): forget it and
// ask again, showing the gateway's message.
onError((e) => {
  if (e && e.status === 401) {
    clearToken();
    showSignIn();
    showError(e);
    return true;
  }
  return false;
});

function showSignIn() {
  $("#nav").hidden = true;
  $("#view").hidden = true;
  $("#view").replaceChildren();
  $("#sign-in").hidden = false;
  $("#token").focus();
}

let rendering = 0;

async function render() {
  const turn = ++rendering;
  if (!getToken()) {
    showSignIn();
    return;
  }
  $("#sign-in").hidden = true;
  $("#nav").hidden = false;
  const path = location.pathname;
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.page === path.replace(/\/$/, "") || (path === "/dashboard/" && a.dataset.page === "/dashboard")) {
      a.setAttribute("aria-current", "page");
    } else {
      a.removeAttribute("aria-current");
    }
  }
  const view = VIEWS[path] ?? accounts;
  const root = $("#view");
  root.replaceChildren();
  root.hidden = false;
  root.setAttribute("aria-busy", "true");
  try {
    await view(root, new URLSearchParams(location.search), { navigate, stale: () => turn !== rendering });
  } catch (e) {
    handleError(e);
  } finally {
    if (turn === rendering) root.removeAttribute("aria-busy");
  }
}

/** Goes to another dashboard page without reloading. */
export function navigate(url) {
  history.pushState(null, "", url);
  clearMessages();
  render();
}

document.addEventListener("click", (ev) => {
  const a = ev.target.closest("a[href]");
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !(url.pathname in VIEWS)) return;
  ev.preventDefault();
  navigate(url.pathname + url.search);
});

window.addEventListener("popstate", () => {
  clearMessages();
  render();
});

$("#sign-in-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const input = $("#token");
  const token = input.value.trim();
  if (!token) {
    showError(new Error("enter the admin token"));
    return;
  }
  const button = ev.submitter ?? $("#sign-in-form button");
  button.disabled = true;
  try {
    // Checked before it is kept: a wrong token is never stored.
    await api("GET", "/admin/accounts", undefined, token);
    setToken(token);
    input.value = "";
    clearMessages();
    await render();
  } catch (e) {
    showError(e);
  } finally {
    button.disabled = false;
  }
});

$("#sign-out").addEventListener("click", () => {
  clearToken();
  showSignIn();
  showNotice("Signed out. The token is no longer kept in this tab.");
});

// Anything that slips past a handler is still shown, not lost in the console.
window.addEventListener("unhandledrejection", (ev) => handleError(ev.reason));
window.addEventListener("error", (ev) => showError(ev.error ?? ev.message));

render();
