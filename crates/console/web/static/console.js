// The console's screens: a buyer places orders, lists their own and subscribes others to
// them; an admin searches orders by status and text, page by page, and confirms or cancels
// them. Statuses change live on a PushUpdate from the hub (official @microsoft/signalr
// client, automatic and stateful reconnect); an admin gets every order's pushes, so their
// list follows new and changed orders without polling. After a reconnect the list is
// reloaded, so updates missed while away appear. A failed action keeps every input and
// says why.
"use strict";

const $ = (selector) => document.querySelector(selector);
const el = (tag, attributes = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
};

const state = {
  user: null,
  orders: new Map(), // id → order (as listed), in display order
  pushed: new Map(), // id → the status a push announced (newer than a lagging list)
  cursor: null,
  search: { status: "pending", q: "" },
  idempotencyKey: crypto.randomUUID(),
  hub: null,
};
const rank = { pending: 0, confirmed: 1, cancelled: 1 };

// ---- money: decimal strings to minor units, never floats ----
const exponentOf = (currency) => (currency === "JPY" ? 0 : 2);
function toMinor(text, exponent) {
  const match = /^(\d{1,12})(?:\.(\d+))?$/.exec(text.trim());
  if (!match || (match[2] ?? "").length > exponent) return null;
  return BigInt(match[1]) * 10n ** BigInt(exponent) + BigInt((match[2] ?? "").padEnd(exponent, "0") || "0");
}
function formatMinor(minor, exponent) {
  const digits = minor.toString().padStart(exponent + 1, "0");
  return exponent ? `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}` : digits;
}

// ---- the order form ----
function addItem() {
  const row = $("#item-row").content.firstElementChild.cloneNode(true);
  const index = $("#items").children.length;
  row.querySelectorAll("input").forEach((input) => {
    input.id = `item-${index}-${input.name}-${crypto.randomUUID().slice(0, 8)}`;
    input.previousElementSibling.htmlFor = input.id;
    input.addEventListener("input", updateTotal);
  });
  row.querySelector(".remove").addEventListener("click", () => {
    if ($("#items").children.length > 1) row.remove();
    updateTotal();
    $("#add-item").focus();
  });
  $("#items").append(row);
  return row;
}
function readItems() {
  return [...$("#items").children].map((row) => ({
    sku: row.querySelector('[name="sku"]').value.trim(),
    name: row.querySelector('[name="name"]').value.trim(),
    quantity: Number(row.querySelector('[name="quantity"]').value),
    unitPrice: row.querySelector('[name="unitPrice"]').value.trim(),
  }));
}
function updateTotal() {
  const currency = $("#currency").value;
  const exponent = exponentOf(currency);
  let total = 0n;
  for (const item of readItems()) {
    const price = toMinor(item.unitPrice, exponent);
    if (price === null || !Number.isInteger(item.quantity) || item.quantity < 1) {
      $("#total").textContent = `— ${currency} (complete every price and quantity)`;
      return;
    }
    total += price * BigInt(item.quantity);
  }
  $("#total").textContent = `${formatMinor(total, exponent)} ${currency}`;
}
function markInvalid(fields) {
  document.querySelectorAll("#order-form [aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
  const rows = [...$("#items").children];
  for (const { path } of fields) {
    const match = /items\/(\d+)\/(\w+)/.exec(path);
    const input = match ? rows[Number(match[1])]?.querySelector(`[name="${match[2]}"]`) : path.includes("currency") ? $("#currency") : null;
    input?.setAttribute("aria-invalid", "true");
  }
}
async function placeOrder(event) {
  event.preventDefault();
  const error = $("#order-error");
  const button = $("#place-order");
  button.disabled = true;
  error.hidden = true;
  try {
    const { json } = await Api.placeOrder({ currency: $("#currency").value, items: readItems() }, state.idempotencyKey);
    state.idempotencyKey = crypto.randomUUID();
    markInvalid([]);
    $("#items").replaceChildren();
    addItem();
    updateTotal();
    const id = json.orderId;
    showNotice(`Order ${id} placed: ${json.status ?? "pending"}, ${json.total ?? ""} ${json.currency ?? ""}.`);
    state.orders = new Map([[id, { id, status: json.status ?? "pending", total: json.total, currency: json.currency }], ...state.orders]);
    renderOrders();
    setTimeout(reload, 500);
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
    markInvalid(failure.fields ?? []);
    error.focus();
  } finally {
    button.disabled = false;
  }
}

// ---- the orders list ----
async function reload() {
  if (!state.user) return;
  state.cursor = null;
  state.orders = new Map();
  await loadPage();
}
async function loadPage(minPosition) {
  const error = $("#orders-error");
  try {
    const { json } = state.user.isAdmin
      ? await Api.search({ ...state.search, cursor: state.cursor, minPosition })
      : await Api.myOrders(state.cursor);
    for (const order of json.items ?? []) state.orders.set(order.id, order);
    state.cursor = json.nextCursor ?? null;
    error.hidden = true;
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
  }
  renderOrders();
}
// An admin gets a push for every order that changes (the hub sends admins every push): the
// order is read from the orders API, which answers from the event store and so is never
// behind, and shown in place — or first, when it is new and the search would find it.
async function refreshOrder(id) {
  let order;
  try {
    ({ json: order } = await Api.order(id));
  } catch {
    return; // The next search shows it.
  }
  if (state.orders.has(id)) {
    state.orders.set(id, order);
  } else if (state.search.q) {
    return reload(); // Only the index knows whether the text matches.
  } else if (!state.search.status || state.search.status === order.status) {
    state.orders = new Map([[id, order], ...state.orders]);
  }
  renderOrders();
}
function statusOf(order) {
  const pushed = state.pushed.get(order.id);
  return pushed && rank[pushed] > rank[order.status] ? pushed : order.status;
}
function renderOrders() {
  const list = $("#orders");
  const visible = [...state.orders.values()].filter((order) => !state.user.isAdmin || !state.search.status || statusOf(order) === state.search.status || state.pushed.has(order.id));
  list.replaceChildren(...visible.map(orderRow));
  $("#orders-empty").hidden = visible.length > 0;
  $("#more").hidden = !state.cursor;
}
function orderRow(order) {
  const status = statusOf(order);
  const row = el("li", { "data-order-id": order.id },
    el("span", { class: "id", text: order.id }),
    el("span", { class: `status status-${status}`, "data-status": status, text: status }),
    el("span", { text: order.total ? `${order.total} ${order.currency}` : "" }));
  if (state.user.isAdmin && order.buyerId) row.append(el("span", { class: "buyer", text: `buyer ${order.buyerId}` }));
  const actions = el("div", { class: "actions" });
  if (status === "pending" && state.user.isAdmin) {
    actions.append(
      actionButton("Confirm", `Confirm order ${order.id}`, () => Api.confirm(order.id)),
      actionButton("Cancel", `Cancel order ${order.id}`, () => Api.cancel(order.id), "danger"));
  } else if (status === "pending") {
    actions.append(subscribeForm(order));
  }
  row.append(actions);
  return row;
}
function actionButton(text, label, action, kind = "") {
  const button = el("button", { type: "button", class: kind, "aria-label": label, text });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const { position } = await action();
      showNotice(`${label}: done.`);
      state.cursor = null;
      state.orders = new Map();
      await loadPage(position ?? undefined);
      $("#orders-title").focus?.();
    } catch (failure) {
      button.disabled = false;
      await reload();
      $("#orders-error").textContent = `${label}: ${failure.message}`;
      $("#orders-error").hidden = false;
    }
  });
  return button;
}
function subscribeForm(order) {
  const id = `subscriber-${order.id}`;
  const input = el("input", { id, name: "subscriberId", autocomplete: "off", placeholder: "their user id" });
  const form = el("form", {},
    el("div", {}, el("label", { for: id, text: "Subscribe a user (id)" }), input),
    el("button", { type: "submit", class: "secondary", text: "Subscribe" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await Api.subscribe(order.id, input.value.trim());
      showNotice(`User ${input.value.trim()} now follows order ${order.id}.`);
      input.value = "";
    } catch (failure) {
      $("#orders-error").textContent = `Subscribing to ${order.id}: ${failure.message}`;
      $("#orders-error").hidden = false;
    }
  });
  return form;
}
function showNotice(text) {
  const notice = el("p", { class: "notice", text });
  $("#notices").prepend(notice);
  while ($("#notices").children.length > 3) $("#notices").lastElementChild.remove();
  setTimeout(() => notice.remove(), 15_000);
}

// ---- live updates ----
function setConnection(stateName) {
  const text = { connected: "Live updates: connected", reconnecting: "Live updates: reconnecting…", offline: "Live updates: offline" }[stateName];
  $("#connection").dataset.state = stateName;
  $("#connection").textContent = text;
}
async function connectHub() {
  const builder = new signalR.HubConnectionBuilder()
    .withUrl("/hubs/push-updates", { accessTokenFactory: () => Auth.accessToken() })
    .withAutomaticReconnect();
  // Stateful reconnect where this client build has it; the hub may not offer it, and the
  // client then falls back to a plain connection.
  if (typeof builder.withStatefulReconnect === "function") builder.withStatefulReconnect();
  const hub = builder.configureLogging(signalR.LogLevel.Warning).build();
  hub.on("PushUpdate", (update) => {
    const status = { "order-confirmed": "confirmed", "order-cancelled": "cancelled" }[update.type];
    if (status) state.pushed.set(update.orderId, status);
    showNotice(`Order ${update.orderId}: ${status ?? update.type.replace(/^order-/, "")}.`);
    if (state.orders.has(update.orderId)) renderOrders();
    if (state.user.isAdmin) refreshOrder(update.orderId);
    else setTimeout(reload, 300);
    return { received: update.messageId, by: "console" };
  });
  hub.onreconnecting(() => setConnection("reconnecting"));
  hub.onreconnected(() => { setConnection("connected"); reload(); });
  hub.onclose(() => { setConnection("offline"); if (state.user && state.hub === hub) setTimeout(() => startHub(hub), 5_000); });
  state.hub = hub;
  await startHub(hub);
}
async function startHub(hub) {
  if (state.hub !== hub || !state.user) return;
  try {
    await hub.start();
    setConnection("connected");
    reload();
  } catch {
    setConnection("offline");
    setTimeout(() => startHub(hub), 5_000);
  }
}

// ---- who is signed in ----
function render(user) {
  const previous = state.user;
  state.user = user;
  $("#signed-out").hidden = Boolean(user);
  $("#who").hidden = !user;
  $("#buyer").hidden = !user?.isBuyer;
  $("#admin").hidden = !user?.isAdmin;
  $("#orders-section").hidden = !user;
  if (!user) {
    state.hub?.stop();
    state.hub = null;
    setConnection("offline");
    return;
  }
  $("#user-name").textContent = user.name;
  $("#user-name").title = `user id ${user.id}`;
  $("#user-role").textContent = user.isAdmin ? "admin" : "buyer";
  $("#orders-title").textContent = user.isAdmin ? "Orders found" : "Your orders";
  if (previous?.id !== user.id) connectHub();
}

document.addEventListener("DOMContentLoaded", async () => {
  $("#login").addEventListener("click", () => Auth.login().catch((error) => {
    $("#login-error").textContent = `The sign-in cannot start (${error.message}). Try again in a moment.`;
    $("#login-error").hidden = false;
  }));
  $("#logout").addEventListener("click", () => Auth.logout());
  $("#add-item").addEventListener("click", () => addItem().querySelector("input").focus());
  $("#currency").addEventListener("change", updateTotal);
  $("#order-form").addEventListener("submit", placeOrder);
  $("#more").addEventListener("click", () => loadPage());
  $("#search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.search = { status: $("#search-status").value, q: $("#search-text").value.trim() };
    reload();
  });
  $("#orders-title").tabIndex = -1;
  addItem();
  updateTotal();
  Auth.onChange(render);
  const failure = await Auth.completeLogin();
  if (failure) {
    $("#login-error").textContent = failure;
    $("#login-error").hidden = false;
  }
  render(Auth.user());
});
