// Create -> searchable probe for scripts/bench-searchable: every INTERVAL ms
// it places an order, then asks GET /orders?minPosition=<its position>; the
// server answers once its search projection has indexed that position (or
// after 2 s with upToDate=false). The time from the 201 to the search answer
// bounds how long the order took to become searchable (the GET's own round
// trip included). Prints percentiles as JSON.
//
//   node scripts/searchable-probe.mjs BASE_URL TOKEN PROBES INTERVAL_MS
const [base, token, probes = "200", interval = "50"] = process.argv.slice(2);
const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
const body = JSON.stringify({
  currency: "EUR",
  items: [{ sku: "SKU-P", name: "Probe beans", quantity: 1, unitPrice: "1.00" }],
});
const latencies = [];
let late = 0;
for (let i = 0; i < Number(probes); i++) {
  const started = performance.now();
  const created = await fetch(`${base}/orders`, { method: "POST", headers, body });
  if (created.status !== 201) throw new Error(`POST /orders answered ${created.status}`);
  const position = created.headers.get("orderflow-position");
  await created.arrayBuffer();
  const written = performance.now();
  const found = await fetch(`${base}/orders?limit=1&minPosition=${position}`, { headers });
  const page = await found.json();
  const searchable = performance.now();
  if (found.status !== 200) throw new Error(`GET /orders answered ${found.status}`);
  if (!page.upToDate) late++;
  latencies.push(searchable - written);
  const pause = Number(interval) - (performance.now() - started);
  if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
}
latencies.sort((a, b) => a - b);
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
console.log(JSON.stringify({
  probes: latencies.length,
  notUpToDateWithin2s: late,
  p50Ms: +at(0.5).toFixed(1),
  p90Ms: +at(0.9).toFixed(1),
  p99Ms: +at(0.99).toFixed(1),
  maxMs: +latencies[latencies.length - 1].toFixed(1),
}));
