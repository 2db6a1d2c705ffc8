// The network of a buyer's page is cut and restored, and the page catches up:
//
//   node reconnect.mjs <directUrl> <cutUrl>
//
// alice's page runs at <cutUrl>, a proxy the Rust test can cut (every socket dropped, new
// ones refused); the admin's at <directUrl>. alice places an order; while she is cut off
// the admin confirms it; once the network is back her page shows it confirmed without a
// reload, and its connection state went from connected through reconnecting (or offline)
// back to connected. Steps as in console.mjs; "cut-requested" and "reopen-requested" wait
// for the test's answer on stdin.
import { fail, patience, placeOrder, request, run, signIn, statusOf, step } from "./session.mjs";

const [directUrl, cutUrl] = process.argv.slice(2);
if (!directUrl || !cutUrl) {
  process.stderr.write("usage: node reconnect.mjs <directUrl> <cutUrl>\n");
  process.exit(64);
}

await run(async (browser) => {
  const alice = await signIn(browser, cutUrl, "alice");
  const { page } = alice;
  const orderId = await placeOrder(page);
  step("placed", { orderId });

  const admin = await signIn(browser, directUrl, "admin");
  const adminRow = admin.page.locator(`#orders li[data-order-id="${orderId}"]`);
  for (let attempt = 0; !(await adminRow.count()) && attempt < 40; attempt++) {
    await admin.page.getByRole("button", { name: "Search" }).click();
    await admin.page.waitForTimeout(250);
  }
  await adminRow.waitFor(patience);

  // Every state the header shows from now on; and a mark a reload would lose.
  await page.evaluate(() => {
    const connection = document.querySelector("#connection");
    window.connectionStates = [connection.dataset.state];
    window.notReloaded = true;
    new MutationObserver(() => {
      const state = connection.dataset.state;
      if (window.connectionStates.at(-1) !== state) window.connectionStates.push(state);
    }).observe(connection, { attributes: true, attributeFilter: ["data-state"] });
  });

  await request("cut");
  await page.locator('#connection:not([data-state="connected"])').waitFor(patience);
  step("buyer-cut-off", { state: await page.locator("#connection").getAttribute("data-state") });

  await admin.page.getByRole("button", { name: `Confirm order ${orderId}` }).click();
  await admin.page.locator(".notice", { hasText: `Confirm order ${orderId}: done.` }).waitFor(patience);
  step("admin-confirmed", { orderId });
  // The push has gone out by now; a page that is really cut off cannot have it.
  await page.waitForTimeout(1_500);
  (await statusOf(page, orderId).textContent()) === "pending" || fail("the cut-off page saw the confirmation");
  step("buyer-still-pending");

  await request("reopen");
  // Automatic reconnect retries after 0, 2, 10 and 30 s, so the page may take a while.
  const catchUp = { timeout: 45_000 };
  await page.locator(`#orders li[data-order-id="${orderId}"] .status[data-status="confirmed"]`).waitFor(catchUp);
  await page.locator('#connection[data-state="connected"]').waitFor(catchUp);
  (await page.evaluate(() => window.notReloaded)) === true || fail("the page was reloaded");
  const states = await page.evaluate(() => window.connectionStates);
  const [first, ...rest] = states;
  const away = rest.slice(0, -1);
  if (first !== "connected" || rest.at(-1) !== "connected" || !away.length || !away.every((state) => state === "reconnecting" || state === "offline")) {
    fail(`the connection state went ${states.join(" → ")}`);
  }
  step("buyer-caught-up", { orderId, states });

  // The SignalR client logs the lost connection and its failed attempts while cut off, as
  // it should; anything else is the console's fault.
  const expected = /^\[[^\]]+\] Error: (Connection disconnected with error|Failed to complete negotiation with the server|Failed to start the connection)/;
  alice.problems = alice.problems.filter((problem) => !expected.test(problem));
  for (const [who, session] of [["alice", alice], ["admin", admin]]) {
    if (session.problems.length) fail(`${who}'s page logged errors: ${session.problems.join(" | ")}`);
  }
  step("ok", { orderId });
});
