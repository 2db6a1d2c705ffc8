// Drives the official @microsoft/signalr client against the orderflow push hub.
//
//   node client.mjs <hubUrl> <token> [result|no-result|skip-negotiation|stateful]
//
// The PushUpdate handler returns a result, except in mode no-result; skip-negotiation connects
// the WebSocket directly (skipNegotiation); stateful asks for stateful reconnect
// (withStatefulReconnect). Each push event carries the connection id it arrived on. An empty <token> connects without
// accessTokenFactory. Every event is one JSON line on
// stdout ({"event": …}); the client's own log goes to stderr. A line "stop" on stdin (or the
// end of stdin) stops the connection and exits 0; a failed start exits 2; a safety timer
// (SIGNALR_CLIENT_MAX_SECONDS, default 120) exits 3 so that no test can leave this process behind.
import readline from "node:readline";
import * as signalR from "@microsoft/signalr";

const [hubUrl, token = "", mode = "result"] = process.argv.slice(2);
const modes = ["result", "no-result", "skip-negotiation", "stateful"];
if (!hubUrl || !modes.includes(mode)) {
  process.stderr.write(`usage: node client.mjs <hubUrl> <token> [${modes.join("|")}]\n`);
  process.exit(64);
}

const emit = (event, fields = {}) =>
  process.stdout.write(JSON.stringify({ event, ...fields }) + "\n");

const stderrLogger = {
  log(level, message) {
    if (level >= signalR.LogLevel.Information) {
      process.stderr.write(`[signalr ${signalR.LogLevel[level]}] ${message}\n`);
    }
  },
};

const options = token ? { accessTokenFactory: () => token } : {};
if (mode === "skip-negotiation") {
  options.skipNegotiation = true;
  options.transport = signalR.HttpTransportType.WebSockets;
}
const builder = new signalR.HubConnectionBuilder()
  .withUrl(hubUrl, options)
  .withAutomaticReconnect([0, 1000, 2000, 5000, 10000])
  .configureLogging(stderrLogger);
if (mode === "stateful") {
  builder.withStatefulReconnect();
}
const connection = builder.build();

connection.on("PushUpdate", (update) => {
  emit("push", { update, connectionId: connection.connectionId });
  if (mode === "no-result") {
    return undefined;
  }
  return { received: update.messageId, by: "node" };
});
connection.onreconnecting((error) => emit("reconnecting", { error: String(error ?? "") }));
connection.onreconnected((connectionId) => emit("reconnected", { connectionId }));
connection.onclose((error) => emit("closed", { error: error ? String(error) : null }));

const maxSeconds = Number(process.env.SIGNALR_CLIENT_MAX_SECONDS ?? 120);
const safety = setTimeout(() => {
  emit("gave-up");
  process.exit(3);
}, maxSeconds * 1000);
safety.unref();

try {
  await connection.start();
} catch (error) {
  emit("start-failed", { message: String(error?.message ?? error) });
  process.exit(2);
}
emit("connected", { connectionId: connection.connectionId });

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await connection.stop();
  emit("stopped");
  process.exit(0);
};
const input = readline.createInterface({ input: process.stdin });
input.on("line", (line) => {
  if (line.trim() === "stop") stop();
});
input.on("close", stop);
