// The dashboard end to end, as a person uses it, in Debian's headless Chromium
// driven by playwright-core: sign in (a wrong token first), create an account,
// add $30, create a key and read it from the page, use it over HTTP, set a
// throttle, find the request in the usage table and charts, revoke the key and
// see it refused. Screenshots of every page go to artifacts/ (or
// $MWS_DASHBOARD_ARTIFACTS). Run by scripts/test.sh: `node --test dashboard.test.mjs`.

import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

import { Gateway } from "./gateway.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = process.env.MWS_DASHBOARD_ARTIFACTS ?? path.join(here, "artifacts");
const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const KEY = /^mws_live_[0-9A-Za-z]{32,}$/;
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };

let gw;
let browser;
let context;
let page;
const requests = []; // every request the page made: {url, headers}
const pageErrors = [];
const consoleErrors = [];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns something truthy. */
async function until(what, check, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  let last = null;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
    await sleep(100);
  }
}

const text = (selector) => page.locator(selector).first().innerText();
const untilText = (selector, re) =>
  until(`${selector} to match ${re}`, async () => re.test(await text(selector)) && (await text(selector)));

async function screenshot(name) {
  await page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });
}

/** Clicks a link of the top navigation (client-side routing, no reload). */
async function go(label, h1) {
  await page.locator("#nav a", { hasText: label }).click();
  await untilText("#view h1", new RegExp(h1));
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  gw = await Gateway.start();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Debian's Chromium as root, on a machine with no network but loopback.
    args: [
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  context = await browser.newContext({ viewport: DESKTOP });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: gw.url });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on("request", (r) => requests.push({ url: r.url(), headers: r.headers() }));
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
});

after(async () => {
  await browser?.close();
  if (gw) {
    writeFileSync(path.join(ARTIFACTS, "gateway.log"), gw.log.join("\n") + "\n");
    await gw.stop();
  }
});

test("the dashboard in a browser", async (t) => {
  let accountId;
  let key;
  let keyId;
  let trackedRequest;

  await t.test("a wrong admin token shows the gateway's error and is not kept", async () => {
    await page.goto(`${gw.url}/dashboard`);
    await page.locator("#sign-in").waitFor();
    await screenshot("01-sign-in.png");
    await page.fill("#token", "not-the-admin-token");
    await page.click("#sign-in-form button[type=submit]");
    await untilText("#error", /invalid admin token/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("mws-admin-token")), null);
    assert.ok(await page.locator("#nav").isHidden());
    await screenshot("02-sign-in-wrong-token.png");
  });

  await t.test("signs in with the admin token", async () => {
    await page.fill("#token", gw.token);
    await page.click("#sign-in-form button[type=submit]");
    await untilText("#view h1", /Accounts/);
    assert.ok(await page.locator("#error").isHidden(), "the old error is cleared");
    assert.equal(await page.inputValue("#token"), "", "the field is emptied");
  });

  await t.test("creates an account", async () => {
    await page.fill("#account-name", "e2e-team");
    await page.click("#create-account button[type=submit]");
    await untilText("#notice", /Created account e2e-team/);
    const row = page.locator("#accounts-table tbody tr", { hasText: "e2e-team" });
    await row.waitFor();
    accountId = await row.getAttribute("data-account-id");
    assert.match(accountId, /^acct_/);
    assert.equal(await row.locator("td.balance").innerText(), "$0.00");
    assert.match(await row.locator("td.tier").innerText(), /^0 · 1,000 rpm · 10,000,000 tpm$/);
    await screenshot("03-accounts.png");
  });

  await t.test("adds $30 of credits, and shows the gateway's refusal of a bad amount", async () => {
    await page.locator("#accounts-table tr", { hasText: "e2e-team" }).locator("a", { hasText: "Add credits" }).click();
    await untilText("#view h1", /Credits/);
    assert.equal(new URL(page.url()).searchParams.get("account"), accountId);
    await page.fill("#amount", "-5");
    await page.click("#add-credits button[type=submit]");
    await untilText("#error", /amount_usd.*positive|positive.*amount/i);
    await page.fill("#amount", "30");
    await page.click("#add-credits button[type=submit]");
    await untilText("#notice", /Added \$30\.00 to e2e-team/);
    assert.match(await text("#balance"), /Balance \$30\.00/);
    const { body } = await gw.admin("GET", `/admin/accounts/${accountId}`);
    assert.equal(body.balance_usd, 30);
    await screenshot("04-credits.png");
  });

  await t.test("creates a key, shown once with a copy button and a warning", async () => {
    await go("Keys", "Keys");
    await page.fill("#key-name", "e2e-key");
    await page.click("#create-key button[type=submit]");
    key = (await page.locator("#new-key-value").innerText()).trim();
    assert.match(key, KEY);
    assert.match(await text("#new-key"), /shown only this once/);
    await page.click("#copy-key");
    await untilText("#copy-key", /Copied/);
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
    const row = page.locator("#keys-table tbody tr", { hasText: "e2e-key" });
    keyId = await row.getAttribute("data-key-id");
    assert.equal(await row.locator("td.status").innerText(), "active");
    await screenshot("05-keys-new-key.png");
    // The page keeps no copy: it is gone once dismissed, and stored nowhere.
    await page.click("#new-key button.quiet");
    assert.equal(await page.locator("#new-key").count(), 0);
    const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }));
    assert.ok(!stored.includes(key));
  });

  await t.test("the key serves chat requests over HTTP", async () => {
    const r = await gw.chat(key, "dragon", "hello from the dashboard test");
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.match(r.body.choices[0].message.content, /hello from the dashboard test/);
    trackedRequest = r.headers.get("request-id");
    assert.ok(trackedRequest);
    // Twenty more, half on another profile, so the ledger has a second page.
    for (let i = 0; i < 20; i++) {
      const more = await gw.chat(key, i % 2 ? "dragon" : "dragon-pro", `request ${i}`);
      assert.equal(more.status, 200, JSON.stringify(more.body));
    }
  });

  await t.test("sets and clears the key's throttle", async () => {
    const row = page.locator(`#keys-table tr[data-key-id="${keyId}"]`);
    await row.locator("input[name=rpm]").fill("5");
    await row.locator("input[name=tpm]").fill("20000");
    await row.locator("button.save-throttle").click();
    await untilText("#notice", /5 rpm, 20000 tpm/);
    const limited = await gw.chat(key, "dragon", "throttled");
    assert.equal(limited.status, 200);
    assert.equal(limited.headers.get("x-ratelimit-limit-requests"), "5");
    await screenshot("06-keys-throttle.png");
    // An emptied field clears that limit; the other stays.
    await page.locator(`#keys-table tr[data-key-id="${keyId}"] input[name=tpm]`).fill("");
    await page.locator(`#keys-table tr[data-key-id="${keyId}"] button.save-throttle`).click();
    await untilText("#notice", /5 rpm, no tpm limit/);
    const { body } = await gw.admin("GET", `/admin/accounts/${accountId}/keys`);
    assert.deepEqual([body.data[0].rpm, body.data[0].tpm], [5, null]);
  });

  await t.test("the usage page shows the requests in the table and the charts", async () => {
    await go("Usage", "Usage");
    await page.locator("#usage-table").waitFor();
    await untilText("#totals", /Requests\s*22/);
    assert.match(await text("#page-position"), /rows 1–20 of 22/);
    const today = new Date().toISOString().slice(0, 10);
    for (const chart of ["#spend-chart", "#tokens-chart"]) {
      const day = page.locator(`${chart} g.day[data-date="${today}"]`);
      assert.ok(Number(await day.getAttribute("data-value")) > 0, `${chart} has today's bar`);
      for (const profile of ["dragon", "dragon-pro"]) {
        assert.equal(await day.locator(`rect[data-profile="${profile}"]`).count(), 1, `${chart} ${profile}`);
      }
    }
    await screenshot("07-usage.png");
    // The first request is the oldest: on the second page.
    await page.click("#older");
    await untilText("#page-position", /rows 21–22 of 22/);
    const row = page.locator(`#usage-table tr[data-request-id="${trackedRequest}"]`);
    assert.equal(await row.locator("td.profile").innerText(), "dragon");
    // The echo reports no cache tokens: the ledger's cache columns say 0.
    assert.deepEqual(
      [await row.locator("td.cache-read").innerText(), await row.locator("td.cache-write").innerText()],
      ["0", "0"],
    );
    // One profile's rows, totals and bars.
    await page.selectOption("#profile", "dragon-pro");
    await untilText("#totals", /Requests\s*10\b/);
    const profiles = await page.locator("#usage-table td.profile").allInnerTexts();
    assert.deepEqual([...new Set(profiles)], ["dragon-pro"]);
    assert.equal(await page.locator('#spend-chart rect[data-profile="dragon"]').count(), 0);
    await screenshot("08-usage-one-profile.png");
    // Readable on a phone: nothing wider than the screen but the scrolling tables.
    await page.setViewportSize(PHONE);
    await screenshot("09-usage-phone.png");
    const overflow = await page.evaluate(() => {
      const wide = [...document.querySelectorAll("body *")]
        .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5 && !el.closest(".table-wrap"))
        .map((el) => el.id || el.className || el.tagName);
      return { by: document.documentElement.scrollWidth - window.innerWidth, wide };
    });
    assert.ok(overflow.by <= 0, `the page is ${overflow.by}px wider than a phone: ${overflow.wide.join(", ")}`);
    await go("Accounts", "Accounts");
    await screenshot("10-accounts-phone.png");
    await page.setViewportSize(DESKTOP);
  });

  await t.test("the deployments page shows each deployment's health", async () => {
    await go("Deployments", "Deployments");
    await page.locator("#deployments-table").waitFor();
    // The built-in catalogue: one deployment per profile, on the echo.
    assert.equal(await page.locator("#deployments-table tbody tr").count(), 11);
    const dragon = page.locator('#deployments-table tr[data-deployment="echo/dragon"]');
    assert.equal(await dragon.getAttribute("data-state"), "healthy");
    assert.match(await dragon.locator("td.state").innerText(), /healthy/);
    assert.ok(Number(await dragon.locator("td.requests").innerText()) > 0);
    assert.equal(await dragon.locator("td.in-flight").innerText(), "0");
    await untilText("#deployments-summary", /11 deployment\(s\), 0 not healthy/);
    const { body } = await gw.admin("GET", "/admin/deployments");
    assert.equal(body.data.length, 11);
    await screenshot("13-deployments.png");
  });

  await t.test("revokes the key after a confirmation; the key is then refused", async () => {
    await go("Keys", "Keys");
    const row = page.locator(`#keys-table tr[data-key-id="${keyId}"]`);
    await row.locator("button.revoke").click();
    await page.locator("#confirm").waitFor();
    assert.match(await text("#confirm-text"), /Revoke key e2e-key/);
    await screenshot("11-keys-confirm-revoke.png");
    await page.click("#confirm button[value=cancel]");
    assert.equal(await row.locator("td.status").innerText(), "active", "cancel keeps the key");
    assert.equal((await gw.chat(key, "dragon", "still here")).status, 200);

    await row.locator("button.revoke").click();
    await page.click("#confirm button[value=confirm]");
    await untilText("#notice", /is revoked/);
    await until("the row to say revoked", async () => (await row.locator("td.status").innerText()) === "revoked");
    await screenshot("12-keys-revoked.png");
    const refused = await gw.chat(key, "dragon", "after revocation");
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error.code, "invalid_api_key");
  });

  await t.test("the admin token never travels in a URL or a cookie", async () => {
    assert.ok(requests.length > 10);
    for (const r of requests) {
      assert.ok(!r.url.includes(gw.token) && !r.url.includes("not-the-admin-token"), r.url);
      assert.equal(r.headers.cookie, undefined, `cookie sent to ${r.url}`);
    }
    const admin = requests.filter((r) => new URL(r.url).pathname.startsWith("/admin/"));
    assert.ok(admin.length > 5);
    const bearers = new Set(admin.map((r) => r.headers.authorization));
    assert.deepEqual([...bearers].sort(), [`Bearer ${gw.token}`, "Bearer not-the-admin-token"].sort());
    assert.deepEqual(await context.cookies(), []);
    assert.equal(await page.evaluate(() => document.cookie), "");
    assert.ok(!page.url().includes(gw.token));
  });

  await t.test("signs out", async () => {
    await page.click("#sign-out");
    await page.locator("#sign-in").waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("mws-admin-token")), null);
    // A reload still asks for the token.
    await page.reload();
    await page.locator("#sign-in").waitFor();
  });

  await t.test("no script error and no blocked resource on any page", async () => {
    assert.deepEqual(pageErrors, []);
    // The browser logs each refused API call (the wrong token, the bad amount);
    // anything else (a CSP violation, a missing asset) is a failure.
    const unexpected = consoleErrors.filter(
      (m) => !/Failed to load resource: the server responded with a status of (400|401)/.test(m),
    );
    assert.deepEqual(unexpected, []);
  });
});
