// Drives Debian's Chromium (playwright-core, no downloaded browser) through the web console
// of a running orderflow:
//
//   node console.mjs <baseUrl> <screenshotDir>
//
// alice signs in at the login page, is refused a bad order in words (inputs kept), has her
// token refreshed, places a good one; two admin views, open before (other browser
// contexts), show it among pending orders as it is placed, live; admin confirms it; alice's
// page and the other admin view show it confirmed without a reload; bob's page (375 px
// wide) shows nothing of alice's.
// Screenshots of the buyer's and the admin's view go to <screenshotDir>. Every step prints
// one JSON line ({"step": …}); a failure exits 1 with the reason, a safety timer exits 3.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fail, patience, run, signIn as signInAt, statusOf, step } from "./session.mjs";

const [baseUrl, screenshotDir] = process.argv.slice(2);
if (!baseUrl || !screenshotDir) {
  process.stderr.write("usage: node console.mjs <baseUrl> <screenshotDir>\n");
  process.exit(64);
}
mkdirSync(screenshotDir, { recursive: true });

await run(async (browser) => {
  const signIn = (username, viewport) => signInAt(browser, baseUrl, username, viewport);
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

  // Both admin views are open before the order exists: they learn of it, and of its
  // confirmation, from pushes alone (no search is run again, nothing polls).
  const admin = await signIn("admin");
  const otherAdmin = await signIn("admin");

  await row.getByLabel("Unit price").fill("12.50");
  (await page.locator("#total").textContent()) === "25.00 EUR" || fail(`total: ${await page.locator("#total").textContent()}`);
  const before = await page.locator("#orders li").evaluateAll((rows) => rows.map((row) => row.dataset.orderId));
  await page.getByRole("button", { name: "Place order" }).click();
  const newRow = await page.waitForFunction(
    (known) => [...document.querySelectorAll("#orders li")].map((row) => row.dataset.orderId).find((id) => !known.includes(id)),
    before, patience);
  const orderId = await newRow.jsonValue();
  (await statusOf(page, orderId).textContent()) === "pending" || fail("a new order is not pending");
  step("placed", { orderId });

  const adminRow = (view) => view.page.locator(`#orders li[data-order-id="${orderId}"]`);
  await adminRow(admin).waitFor(patience);
  await adminRow(otherAdmin).locator('.status[data-status="pending"]').waitFor(patience);
  step("admins-saw-new-order", { orderId });
  await admin.page.screenshot({ path: join(screenshotDir, "admin.png") });
  await admin.page.getByRole("button", { name: `Confirm order ${orderId}` }).click();
  step("admin-confirmed", { orderId });

  await page.locator(`#orders li[data-order-id="${orderId}"] .status[data-status="confirmed"]`).waitFor(patience);
  await page.locator(".notice", { hasText: `Order ${orderId}: confirmed` }).waitFor(patience);
  await page.screenshot({ path: join(screenshotDir, "buyer.png") });
  step("buyer-saw-confirmation", { orderId });
  await adminRow(otherAdmin).locator('.status[data-status="confirmed"]').waitFor(patience);
  step("other-admin-saw-confirmation", { orderId });

  const bob = await signIn("bob", { width: 375, height: 740 });
  await bob.page.locator("#orders-empty").waitFor({ state: "visible", ...patience });
  if ((await bob.page.content()).includes(orderId)) fail("bob's page shows alice's order");
  const width = await bob.page.evaluate(() => document.documentElement.scrollWidth);
  if (width > 375) fail(`at 375 px the page is ${width} px wide`);
  await bob.page.screenshot({ path: join(screenshotDir, "buyer-375.png") });
  step("other-buyer-sees-nothing");

  for (const [who, session] of [["alice", alice], ["admin", admin], ["the other admin", otherAdmin], ["bob", bob]]) {
    if (session.problems.length) fail(`${who}'s page logged errors: ${session.problems.join(" | ")}`);
  }
  step("ok", { orderId });
});
