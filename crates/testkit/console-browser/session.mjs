// What the console scenarios share: Debian's Chromium (playwright-core, no downloaded
// browser), one JSON line per step on stdout, requests to the Rust test (a step named
// "…-requested", answered by one line on stdin), and signing in at the issuer's login page.
import { chromium } from "playwright-core";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

export const step = (name, fields = {}) => process.stdout.write(JSON.stringify({ step: name, ...fields }) + "\n");
export const fail = (message) => { throw new Error(message); };
export const patience = { timeout: 20_000 };

const answers = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
// Asks the Rust test to do `what` outside the browser and waits until it is done.
export async function request(what, fields = {}) {
  step(`${what}-requested`, fields);
  const { value, done } = await answers.next();
  if (done) fail(`the test did not answer the request ${what}`);
  return value;
}

// Playwright gives every launch a fresh profile (its own --user-data-dir in a temp dir);
// the cache dir is fresh too.
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      `--disk-cache-dir=${mkdtempSync(join(tmpdir(), "orderflow-console-cache-"))}`],
  });
}

// The Keycloak-shaped login page (the dev issuer's, or Keycloak's): password = user name.
export async function keycloakLogin(page, username) {
  await page.waitForURL(/\/protocol\/openid-connect\/auth\?/, patience);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(username);
  await page.locator("#kc-login").click();
}

// Opens the console at baseUrl in a fresh context and signs in as username through the
// issuer's pages (`login`); resolves once live updates are connected.
export async function signIn(browser, baseUrl, username, viewport = { width: 1024, height: 800 }, login = keycloakLogin) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(String(error)));
  // The browser's own network log ("Failed to load resource: … 422") is expected for a
  // refused order or a cut network; anything else logged as an error is the console's fault.
  page.on("console", (message) => message.type() === "error" && !/^Failed to load resource|^WebSocket connection to .* failed/.test(message.text()) && problems.push(message.text()));
  await page.goto(`${baseUrl}/`);
  await page.getByRole("button", { name: "Sign in" }).click();
  await login(page, username);
  await page.waitForURL(`${baseUrl}/`, patience);
  await page.locator("#who").waitFor({ state: "visible", ...patience });
  await page.locator('#connection[data-state="connected"]').waitFor(patience);
  step("signed-in", { username });
  return { context, page, problems };
}

// Fills the first item row and places the order; resolves to the new order's id once it
// is listed as pending.
export async function placeOrder(page, { sku = "SKU-1", name = "Coffee beans", quantity = "2", unitPrice = "12.50" } = {}) {
  const row = page.locator("#items .item").first();
  await row.getByLabel("SKU").fill(sku);
  await row.getByLabel("Name").fill(name);
  await row.getByLabel("Quantity").fill(quantity);
  await row.getByLabel("Unit price").fill(unitPrice);
  const before = await page.locator("#orders li").evaluateAll((rows) => rows.map((row) => row.dataset.orderId));
  await page.getByRole("button", { name: "Place order" }).click();
  const newRow = await page.waitForFunction(
    (known) => [...document.querySelectorAll("#orders li")].map((row) => row.dataset.orderId).find((id) => !known.includes(id)),
    before, patience);
  const orderId = await newRow.jsonValue();
  (await statusOf(page, orderId).textContent()) === "pending" || fail("a new order is not pending");
  return orderId;
}

export const statusOf = (page, orderId) => page.locator(`#orders li[data-order-id="${orderId}"] .status`);

// Runs scenario(browser) and exits 0, or 1 with the reason; a safety timer exits 3.
export async function run(scenario) {
  setTimeout(() => { process.stderr.write("gave up after 150 s\n"); process.exit(3); }, 150_000).unref();
  const browser = await launch();
  try {
    await scenario(browser);
    await browser.close();
    process.exit(0);
  } catch (error) {
    process.stderr.write(`console test failed: ${error.stack ?? error}\n`);
    await browser.close().catch(() => {});
    process.exit(1);
  }
}
