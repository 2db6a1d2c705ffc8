// Confirm -> PushUpdate latency, with the official client and one clock.
//
//   node latency.mjs <baseUrl> <buyerTokens> <adminToken> <orders> <confirmsPerSecond>
//
// <buyerTokens> is one buyer's token, or `@file` naming a file of tokens, one
// per line, one per buyer. The first FROZEN (default 0) of those buyers are
// frozen tabs: they negotiate and complete the handshake over a raw WebSocket
// (the `ws` package the official client uses in Node), then never read again
// (a suspended tab). Every other buyer connects with the official client.
//
// The orders are placed round-robin by all buyers, frozen ones included, so
// a share FROZEN / buyers of the pushes goes to a frozen tab. The script waits
// for the live buyers' order-created pushes and SETTLE_MS (3000) more, then
// confirms every order at a constant rate (open loop: each confirm is sent at
// its scheduled time, whether or not earlier ones have answered) and
// measures, per live buyer's order, the time from sending its confirm to
// receiving its `order-confirmed` push. Prints one JSON line: buyers, frozen,
// count, missing, p50/p90/p99/max in ms.
import { readFileSync } from "node:fs";
import WebSocket from "ws";
import * as signalR from "@microsoft/signalr";

const [base, buyersArg, admin, ordersText = "5000", rateText = "500"] = process.argv.slice(2);
const orders = Number(ordersText);
const rate = Number(rateText);
const tokens = buyersArg.startsWith("@")
  ? readFileSync(buyersArg.slice(1), "utf8").split("\n").filter((line) => line.trim())
  : [buyersArg];
const frozenCount = Number(process.env.FROZEN ?? "0");
if (frozenCount >= tokens.length) throw new Error("FROZEN leaves no live buyer");
const RS = "\u001e";
const sentAt = new Map();
const latencies = [];
let received;
const allReceived = new Promise((resolve) => (received = resolve));
let liveOrders = 0;
let created = 0;
let allCreated;
const createdPushes = new Promise((resolve) => (allCreated = resolve));

function onPush(update) {
  if (update.type === "order-created") {
    created++;
    if (created === liveOrders) allCreated();
  }
  if (update.type !== "order-confirmed") return { received: update.messageId };
  const sent = sentAt.get(update.orderId);
  if (sent !== undefined) {
    latencies.push(performance.now() - sent);
    sentAt.delete(update.orderId);
    if (latencies.length === liveOrders) received();
  }
  return { received: update.messageId };
}

/// A tab that completes the handshake, then stops reading from its socket.
async function freeze(token) {
  const negotiate = await fetch(`${base}/hubs/push-updates/negotiate?negotiateVersion=1`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
  });
  if (!negotiate.ok) throw new Error(`negotiate: ${negotiate.status}`);
  const { connectionToken } = await negotiate.json();
  const url = `${base.replace(/^http/, "ws")}/hubs/push-updates?id=${connectionToken}`;
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  await new Promise((resolve, reject) => {
    socket.on("open", () => socket.send(JSON.stringify({ protocol: "json", version: 1 }) + RS));
    socket.once("message", () => {
      socket._socket.pause(); // never read again
      resolve();
    });
    socket.on("error", reject);
  });
  socket.on("error", () => {}); // closed by the hub in the end: expected
  return socket;
}

async function connect(token) {
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(`${base}/hubs/push-updates`, { accessTokenFactory: () => token })
    .configureLogging(signalR.LogLevel.Warning)
    .build();
  connection.on("PushUpdate", onPush);
  await connection.start();
  return connection;
}

/// Runs `work` on every item, at most `width` at a time.
async function inBatches(items, width, work) {
  const results = [];
  for (let start = 0; start < items.length; start += width) {
    results.push(...(await Promise.all(items.slice(start, start + width).map(work))));
  }
  return results;
}

const frozen = await inBatches(tokens.slice(0, frozenCount), 32, freeze);
const live = await inBatches(tokens.slice(frozenCount), 32, connect);

const body = JSON.stringify({
  currency: "EUR",
  items: [{ sku: "SKU-1", name: "Coffee beans", quantity: 2, unitPrice: "12.50" }],
});
const placed = await inBatches([...Array(orders).keys()], 64, async (n) => {
  const buyer = n % tokens.length;
  const response = await fetch(`${base}/orders`, {
    method: "POST",
    headers: { authorization: `Bearer ${tokens[buyer]}`, "content-type": "application/json" },
    body,
  });
  if (response.status !== 201) throw new Error(`create: ${response.status}`);
  return { id: (await response.json()).id, live: buyer >= frozenCount };
});
liveOrders = placed.filter((order) => order.live).length;
if (created >= liveOrders) allCreated();

// Start confirming only once the creations' pushes have drained, so the
// figure is the steady state at the confirm rate, not a creation backlog.
const createdWithin = await Promise.race([
  createdPushes.then(() => true),
  new Promise((resolve) => setTimeout(() => resolve(false), 60_000)),
]);
if (!createdWithin) console.error(`only ${created} of ${liveOrders} order-created pushes arrived`);
// Then let the server finish what the creation burst left behind (search
// commits and merges, the gateway's read model) before the clock starts.
await new Promise((resolve) => setTimeout(resolve, Number(process.env.SETTLE_MS ?? "3000")));

const origin = performance.now() + 100;
const confirms = placed.map(
  ({ id, live: timed }, index) =>
    new Promise((resolve, reject) => {
      const due = origin + (index * 1000) / rate;
      setTimeout(async () => {
        if (timed) sentAt.set(id, performance.now());
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
await Promise.all(live.map((connection) => connection.stop()));
for (const socket of frozen) socket.terminate();

latencies.sort((a, b) => a - b);
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
console.log(JSON.stringify({
  buyers: tokens.length,
  frozen: frozenCount,
  orders,
  confirmsPerSecond: rate,
  timed: liveOrders,
  received: latencies.length,
  missing: liveOrders - latencies.length,
  p50_ms: at(0.5)?.toFixed(1),
  p90_ms: at(0.9)?.toFixed(1),
  p99_ms: at(0.99)?.toFixed(1),
  max_ms: latencies.at(-1)?.toFixed(1),
}));
process.exit(0);
