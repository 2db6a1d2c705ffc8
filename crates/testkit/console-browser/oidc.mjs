// The console against a third-party OpenID provider, oidc-provider from npm (see
// oidc-provider.mjs), which the services trust as their only issuer:
//
//   node oidc.mjs
//
// "console-requested" gives the Rust test the provider's issuer and audience; the test
// starts orderflow with them and answers with the console's URL. alice signs in through
// oidc-provider's own login and consent pages and places an order; admin, signed in the
// same way, sees it arrive and confirms it; alice's page shows it confirmed.
import { AUDIENCE, listen } from "./oidc-provider.mjs";
import { fail, patience, placeOrder, request, run, signIn, statusOf, step } from "./session.mjs";

const provider = await listen();
const consoleUrl = await request("console", { issuer: provider.issuer, audience: AUDIENCE });
provider.serve(consoleUrl);

// oidc-provider's development login form (any password), then its consent page.
async function providerLogin(page, username) {
  await page.waitForURL(`${provider.issuer}/interaction/**`, patience);
  await page.locator('input[name="login"]').fill(username);
  await page.locator('input[name="password"]').fill(username);
  await page.getByRole("button", { name: "Sign-in" }).click();
  await page.getByRole("button", { name: "Continue" }).click(patience);
}

await run(async (browser) => {
  const signInAtProvider = (username) => signIn(browser, consoleUrl, username, undefined, providerLogin);
  const alice = await signInAtProvider("alice");
  (await alice.page.locator("#user-role").textContent()) === "buyer" || fail("alice is not shown as a buyer");
  const admin = await signInAtProvider("admin");
  (await admin.page.locator("#user-role").textContent()) === "admin" || fail("admin is not shown as an admin");

  const orderId = await placeOrder(alice.page);
  step("placed", { orderId });
  await admin.page.locator(`#orders li[data-order-id="${orderId}"]`).waitFor(patience);
  await admin.page.getByRole("button", { name: `Confirm order ${orderId}` }).click();
  step("admin-confirmed", { orderId });
  await alice.page.locator(`#orders li[data-order-id="${orderId}"] .status[data-status="confirmed"]`).waitFor(patience);
  (await statusOf(alice.page, orderId).textContent()) === "confirmed" || fail("alice's order is not confirmed");
  step("buyer-saw-confirmation", { orderId });

  for (const [who, session] of [["alice", alice], ["admin", admin]]) {
    if (session.problems.length) fail(`${who}'s page logged errors: ${session.problems.join(" | ")}`);
  }
  step("ok", { orderId });
});
