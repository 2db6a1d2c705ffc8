// Drives Debian's Chromium (playwright-core, no downloaded browser) through the web console
// of a running orderflow:
//
//   node console.mjs <baseUrl> <screenshotDir>
//
// alice signs in at the login page, is refused a bad order in words (inputs kept), has her
// token refreshed, places a good one; admin, in a second browser context, finds it among
// pending orders and confirms it; alice's page shows it confirmed without a reload; bob's
// page (375 px wide) shows nothing of alice's.
// Screenshots of the buyer's and the admin's view go to <screenshotDir>. Every step prints
// one JSON line ({"step": …}); a failure exits 1 with the reason, a safety timer exits 3.
import { chromium } from "playwright-core";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [baseUrl, screenshotDir] = process.argv.slice(2);
if (!baseUrl || !screenshotDir) {
  process.stderr.write("usage: node console.mjs <baseUrl> <screenshotDir>\n");
  process.exit(64);
}
mkdirSync(screenshotDir, { recursive: true });
setTimeout(() => { process.stderr.write("gave up after 150 s\n"); process.exit(3); }, 150_000).unref();
const step = (name, fields = {}) => process.stdout.write(JSON.stringify({ step: name, ...fields }) + "\n");
const fail = (message) => { throw new Error(message); };
const patience = { timeout: 20_000 };

// Playwright gives every launch a fresh profile (its own --user-data-dir in a temp dir);
// the cache dir is fresh too.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    `--disk-cache-dir=${mkdtempSync(join(tmpdir(), "orderflow-console-cache-"))}`],
});

async function signIn(username, viewport = { width: 1024, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(String(error)));
  // The browser's own network log ("Failed to load resource: … 422") is expected for the
  // refused order; anything else logged as an error is the console's fault.
  page.on("console", (message) => message.type() === "error" && !message.text().startsWith("Failed to load resource") && problems.push(message.text()));
  await page.goto(`${baseUrl}/`);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/protocol\/openid-connect\/auth\?/, patience);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(username);
  await page.locator("#kc-login").click();
  await page.waitForURL(`${baseUrl}/`, patience);
  await page.locator("#who").waitFor({ state: "visible", ...patience });
  await page.locator('#connection[data-state="connected"]').waitFor(patience);
  step("signed-in", { username });
  return { context, page, problems };
}

try {
  const alice = await signIn("alice");
  const { page } = alice;
  const row = page.locator("#items .item").first();
  await row.getByLabel("SKU").fill("SKU-1");
  await row.getByLabel("Name").fill("Coffee beans");
  await row.getByLabel("Quantity").fill("2");
  await row.getByLabel("Unit price").fill("12.505");
  (await page.locator("#total").textContent()).startsWith("—") || fail("a bad price still shows a total");
  await page.getByRole("button", { name: "Place order" }).click();
  const error = page.locator("#order-error");
  await error.waitFor({ state: "visible", ...patience });
  const message = (await error.textContent()).trim();
  if (message.startsWith("{") || !/unit price/i.test(message)) fail(`unreadable error: ${message}`);
  (await row.getByLabel("Unit price").inputValue()) === "12.505" || fail("the failed order lost its input");
  (await row.getByLabel("Unit price").getAttribute("aria-invalid")) === "true" || fail("the bad field is not marked");
  step("bad-input-refused", { message });

  // The token refresh the console schedules 30 s before expiry, run now: a new access
  // token (the refresh token rotates), and the page goes on working with it.
  const oldToken = await page.evaluate(() => Auth.accessToken());
  await page.evaluate(() => Auth.refresh());
  const newToken = await page.evaluate(() => Auth.accessToken());
  if (!newToken || newToken === oldToken) fail("the token refresh did not give a new access token");
  step("token-refreshed");

  await row.getByLabel("Unit price").fill("12.50");
  (await page.locator("#total").textContent()) === "25.00 EUR" || fail(`total: ${await page.locator("#total").textContent()}`);
  const before = await page.locator("#orders li").evaluateAll((rows) => rows.map((row) => row.dataset.orderId));
  await page.getByRole("button", { name: "Place order" }).click();
  const newRow = await page.waitForFunction(
    (known) => [...document.querySelectorAll("#orders li")].map((row) => row.dataset.orderId).find((id) => !known.includes(id)),
    before, patience);
  const orderId = await newRow.jsonValue();
  const status = (id) => page.locator(`#orders li[data-order-id="${id}"] .status`);
  (await status(orderId).textContent()) === "pending" || fail("a new order is not pending");
  step("placed", { orderId });

  const admin = await signIn("admin");
  const adminRow = admin.page.locator(`#orders li[data-order-id="${orderId}"]`);
  for (let attempt = 0; !(await adminRow.count()) && attempt < 40; attempt++) {
    await admin.page.getByRole("button", { name: "Search" }).click();
    await admin.page.waitForTimeout(250);
  }
  await adminRow.waitFor(patience);
  await admin.page.screenshot({ path: join(screenshotDir, "admin.png") });
  await admin.page.getByRole("button", { name: `Confirm order ${orderId}` }).click();
  step("admin-confirmed", { orderId });

  await page.locator(`#orders li[data-order-id="${orderId}"] .status[data-status="confirmed"]`).waitFor(patience);
  await page.locator(".notice", { hasText: `Order ${orderId}: confirmed` }).waitFor(patience);
  await page.screenshot({ path: join(screenshotDir, "buyer.png") });
  step("buyer-saw-confirmation", { orderId });

  const bob = await signIn("bob", { width: 375, height: 740 });
  await bob.page.locator("#orders-empty").waitFor({ state: "visible", ...patience });
  if ((await bob.page.content()).includes(orderId)) fail("bob's page shows alice's order");
  const width = await bob.page.evaluate(() => document.documentElement.scrollWidth);
  if (width > 375) fail(`at 375 px the page is ${width} px wide`);
  await bob.page.screenshot({ path: join(screenshotDir, "buyer-375.png") });
  step("other-buyer-sees-nothing");

  for (const [who, session] of [["alice", alice], ["admin", admin], ["bob", bob]]) {
    if (session.problems.length) fail(`${who}'s page logged errors: ${session.problems.join(" | ")}`);
  }
  step("ok", { orderId });
  await browser.close();
} catch (error) {
  process.stderr.write(`console test failed: ${error.stack ?? error}\n`);
  await browser.close().catch(() => {});
  process.exit(1);
}
