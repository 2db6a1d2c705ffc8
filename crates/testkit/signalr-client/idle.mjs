// Opens many idle connections with the official @microsoft/signalr client and
// holds them: the load of docs/BENCHMARKS.md's "idle connections" figure.
//
//   node idle.mjs <hubUrl> <token|@tokensFile> <count> <holdSeconds> [plain|stateful]
//
// A tokens file holds one access token a line; connections take them in turn (a hub admits
// at most 50 connections per user). plain (the default) connects the WebSocket directly
// (skipNegotiation); stateful negotiates and uses withStatefulReconnect(). Prints {"event":"opened", opened, failed, seconds} once every connection is
// up (at most 200 starting at a time), holds them for holdSeconds, then prints
// {"event":"held", open} (connections still open) and exits.
import { readFileSync } from "node:fs";
import * as signalR from "@microsoft/signalr";

const [hubUrl, tokenArgument, countText = "1000", holdText = "30", mode = "plain"] =
  process.argv.slice(2);
const tokens = tokenArgument.startsWith("@")
  ? readFileSync(tokenArgument.slice(1), "utf8").split("\n").filter((line) => line.trim())
  : [tokenArgument];
const count = Number(countText);
const hold = Number(holdText);
const connections = [];
let failed = 0;
let closed = 0;

async function openOne(index) {
  const token = tokens[index % tokens.length];
  const options = mode === "stateful"
    ? { accessTokenFactory: () => token, transport: signalR.HttpTransportType.WebSockets }
    : {
      accessTokenFactory: () => token,
      skipNegotiation: true,
      transport: signalR.HttpTransportType.WebSockets,
    };
  const builder = new signalR.HubConnectionBuilder()
    .withUrl(hubUrl, options)
    .configureLogging(signalR.LogLevel.None);
  if (mode === "stateful") {
    builder.withStatefulReconnect();
  }
  const connection = builder.build();
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
    const index = next++;
    await openOne(index);
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
