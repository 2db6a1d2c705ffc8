// Confirm -> PushUpdate latency, with the official client and one clock.
//
//   node latency.mjs <baseUrl> <buyerToken> <adminToken> <orders> <confirmsPerSecond>
//
// Connects as the buyer, places <orders> orders, waits for their
// order-created pushes and SETTLE_MS (3000) more, then confirms them at a
// constant rate (open loop: each confirm is sent at its scheduled time,
// whether or not earlier ones have answered) and measures, per order, the
// time from sending its confirm to receiving its `order-confirmed` push.
// Prints one JSON line: count, missing, p50/p90/p99/max in ms.
import * as signalR from "@microsoft/signalr";

const [base, buyer, admin, ordersText = "5000", rateText = "500"] = process.argv.slice(2);
const orders = Number(ordersText);
const rate = Number(rateText);
const sentAt = new Map();
const latencies = [];
let received;
const allReceived = new Promise((resolve) => (received = resolve));

const connection = new signalR.HubConnectionBuilder()
  .withUrl(`${base}/hubs/push-updates`, { accessTokenFactory: () => buyer })
  .configureLogging(signalR.LogLevel.Warning)
  .build();
let created = 0;
let allCreated;
const createdPushes = new Promise((resolve) => (allCreated = resolve));
connection.on("PushUpdate", (update) => {
  if (update.type === "order-created") {
    created++;
    if (created === orders) allCreated();
  }
  if (update.type !== "order-confirmed") return { received: update.messageId };
  const sent = sentAt.get(update.orderId);
  if (sent !== undefined) {
    latencies.push(performance.now() - sent);
    sentAt.delete(update.orderId);
    if (latencies.length === orders) received();
  }
  return { received: update.messageId };
});
await connection.start();

const body = JSON.stringify({
  currency: "EUR",
  items: [{ sku: "SKU-1", name: "Coffee beans", quantity: 2, unitPrice: "12.50" }],
});
const ids = [];
for (let start = 0; start < orders; start += 64) {
  const batch = Array.from({ length: Math.min(64, orders - start) }, async () => {
    const response = await fetch(`${base}/orders`, {
      method: "POST",
      headers: { authorization: `Bearer ${buyer}`, "content-type": "application/json" },
      body,
    });
    if (response.status !== 201) throw new Error(`create: ${response.status}`);
    ids.push((await response.json()).id);
  });
  await Promise.all(batch);
}

// Start confirming only once the creations' pushes have drained, so the
// figure is the steady state at the confirm rate, not a creation backlog.
const createdWithin = await Promise.race([
  createdPushes.then(() => true),
  new Promise((resolve) => setTimeout(() => resolve(false), 60_000)),
]);
if (!createdWithin) console.error(`only ${created} of ${orders} order-created pushes arrived`);
// Then let the server finish what the creation burst left behind (search
// commits and merges, the gateway's read model) before the clock starts.
await new Promise((resolve) => setTimeout(resolve, Number(process.env.SETTLE_MS ?? "3000")));

const origin = performance.now() + 100;
const confirms = ids.map(
  (id, index) =>
    new Promise((resolve, reject) => {
      const due = origin + (index * 1000) / rate;
      setTimeout(async () => {
        sentAt.set(id, performance.now());
        const response = await fetch(`${base}/orders/${id}/confirm`, {
          method: "POST",
          headers: { authorization: `Bearer ${admin}` },
        });
        if (response.status !== 200) reject(new Error(`confirm: ${response.status}`));
        else resolve();
      }, Math.max(0, due - performance.now()));
    }),
);
await Promise.all(confirms);
await Promise.race([allReceived, new Promise((resolve) => setTimeout(resolve, 10_000))]);
await connection.stop();

latencies.sort((a, b) => a - b);
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
console.log(JSON.stringify({
  orders,
  confirmsPerSecond: rate,
  received: latencies.length,
  missing: orders - latencies.length,
  p50_ms: at(0.5)?.toFixed(1),
  p90_ms: at(0.9)?.toFixed(1),
  p99_ms: at(0.99)?.toFixed(1),
  max_ms: latencies.at(-1)?.toFixed(1),
}));
process.exit(0);
