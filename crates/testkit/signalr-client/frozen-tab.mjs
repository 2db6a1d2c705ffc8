// Issue 12's isolation scenario, measured: does a frozen tab delay another user's push?
//
//   node frozen-tab.mjs <baseUrl> <frozenBuyerToken> <otherBuyerToken> <adminToken> <orders>
//
// The frozen buyer's tab negotiates and completes the handshake over a raw WebSocket (the
// `ws` package the official client uses in Node), then stops reading from its socket (a
// suspended tab: it never answers a PushUpdate). The other buyer connects with the official
// client. <orders> orders of the frozen buyer are confirmed, then one of the other buyer;
// prints one JSON line with the time from sending that last confirm to receiving its
// `order-confirmed` push (before issue 12's fix: 29.6 s for 10 orders).
import WebSocket from "ws";
import * as signalR from "@microsoft/signalr";

const [base, frozenToken, otherToken, admin, ordersText = "10"] = process.argv.slice(2);
const orders = Number(ordersText);
const RS = "\u001e";

async function post(path, token, body) {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

// The frozen tab.
const negotiated = await post("/hubs/push-updates/negotiate?negotiateVersion=1", frozenToken);
const url = `${base.replace(/^http/, "ws")}/hubs/push-updates?id=${negotiated.connectionToken}`;
const frozen = new WebSocket(url, { headers: { authorization: `Bearer ${frozenToken}` } });
await new Promise((resolve, reject) => {
  frozen.on("open", () => frozen.send(JSON.stringify({ protocol: "json", version: 1 }) + RS));
  frozen.once("message", (data) => {
    if (String(data) !== "{}" + RS) reject(new Error(`handshake answer ${data}`));
    frozen._socket.pause(); // never read again
    resolve();
  });
  frozen.on("error", reject);
});

// The healthy user.
let pushed;
let awaited;
const other = new signalR.HubConnectionBuilder()
  .withUrl(`${base}/hubs/push-updates`, { accessTokenFactory: () => otherToken })
  .configureLogging(signalR.LogLevel.Warning)
  .build();
other.on("PushUpdate", (update) => {
  if (update.type === "order-confirmed" && update.orderId === awaited) pushed(performance.now());
  return { received: update.messageId };
});
await other.start();

const order = {
  currency: "EUR",
  items: [{ sku: "SKU-1", name: "Coffee beans", quantity: 2, unitPrice: "12.50" }],
};
const frozenOrders = [];
for (let n = 0; n < orders; n++) frozenOrders.push((await post("/orders", frozenToken, order)).id);
const otherOrder = (await post("/orders", otherToken, order)).id;

for (const id of frozenOrders) await post(`/orders/${id}/confirm`, admin);
awaited = otherOrder;
const arrived = new Promise((resolve) => (pushed = resolve));
const sent = performance.now();
await post(`/orders/${otherOrder}/confirm`, admin);
const timeout = new Promise((resolve) => setTimeout(() => resolve(undefined), 60_000));
const at = await Promise.race([arrived, timeout]);
console.log(JSON.stringify({
  frozenOrders: orders,
  otherUsersPushMs: at === undefined ? null : Number((at - sent).toFixed(1)),
}));
await other.stop();
process.exit(0);
