// Opens many idle connections with the official @microsoft/signalr client and
// holds them: the load of docs/BENCHMARKS.md's "idle connections" figure.
//
//   node idle.mjs <hubUrl> <token> <count> <holdSeconds>
//
// Prints {"event":"opened", opened, failed, seconds} once every connection is
// up (at most 200 starting at a time), holds them for holdSeconds, then prints
// {"event":"held", open} (connections still open) and exits.
import * as signalR from "@microsoft/signalr";

const [hubUrl, token, countText = "1000", holdText = "30"] = process.argv.slice(2);
const count = Number(countText);
const hold = Number(holdText);
const connections = [];
let failed = 0;
let closed = 0;

async function openOne() {
  const connection = new signalR.HubConnectionBuilder()
    .withUrl(hubUrl, {
      accessTokenFactory: () => token,
      skipNegotiation: true,
      transport: signalR.HttpTransportType.WebSockets,
    })
    .configureLogging(signalR.LogLevel.None)
    .build();
  connection.on("PushUpdate", () => ({ received: true }));
  connection.onclose(() => closed++);
  try {
    await connection.start();
    connections.push(connection);
  } catch {
    failed++;
  }
}

const started = Date.now();
let next = 0;
async function worker() {
  while (next < count) {
    next++;
    await openOne();
  }
}
await Promise.all(Array.from({ length: Math.min(200, count) }, worker));
console.log(JSON.stringify({
  event: "opened",
  opened: connections.length,
  failed,
  seconds: (Date.now() - started) / 1000,
}));
await new Promise((resolve) => setTimeout(resolve, hold * 1000));
console.log(JSON.stringify({ event: "held", open: connections.length - closed }));
process.exit(0);
