// The HTTP calls of the console, and errors in words.
//
// Buyers place and list orders through the gateway (/api/orders). Searching, confirming,
// cancelling and subscribing are the orders API's (/orders…): the gateway has no such
// routes, so the console calls the orders API on the same origin (orderflow up serves both).
// Every failure becomes an ApiError whose message is a sentence (problem+json's detail and
// field errors), never raw JSON.
"use strict";

class ApiError extends Error {
  constructor(message, fields = []) {
    super(message);
    this.fields = fields; // [{ path, message }], e.g. path "/items/0/unitPrice"
  }
}

const Api = (() => {
  async function call(method, path, body, extraHeaders = {}) {
    const headers = { Authorization: `Bearer ${Auth.accessToken()}`, Accept: "application/json", ...extraHeaders };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError("The server cannot be reached. Check your connection and try again.");
    }
    if (response.status === 401) {
      await Auth.refresh();
      throw new ApiError("Your session has expired. Please sign in again.");
    }
    const text = await response.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = null; }
    if (!response.ok) throw problemToError(response.status, json);
    return { json, position: response.headers.get("Orderflow-Position") };
  }

  function problemToError(status, problem) {
    const fields = Array.isArray(problem?.errors) ? problem.errors.map((error) => ({ path: String(error.path ?? ""), message: String(error.message ?? "") })) : [];
    const fallback = {
      403: "You are not allowed to do that.",
      404: "That order does not exist (or is not yours).",
      409: "The order changed in the meantime; the list was reloaded, please check it and try again.",
      429: "Too many requests. Wait a moment, then try again.",
      503: "The service is busy or down for a moment. Try again shortly.",
      504: "The order service is slow to answer; your order is queued and will appear shortly.",
    }[status];
    let message = typeof problem?.detail === "string" && problem.detail ? problem.detail : fallback ?? `The request failed (${status}).`;
    if (fields.length) message = `Please correct: ${fields.map((field) => `${describePath(field.path)}: ${field.message}`).join("; ")}`;
    return new ApiError(message, fields);
  }

  // "/items/0/unitPrice" → "item 1, unit price"
  function describePath(path) {
    const parts = path.split("/").filter(Boolean);
    const words = { unitPrice: "unit price", sku: "SKU", name: "name", quantity: "quantity", currency: "currency", items: "items", subscriberId: "user id", reason: "reason" };
    const out = [];
    for (let i = 0; i < parts.length; i++) {
      if (parts[i] === "items" && /^\d+$/.test(parts[i + 1] ?? "")) { out.push(`item ${Number(parts[i + 1]) + 1}`); i++; }
      else out.push(words[parts[i]] ?? parts[i]);
    }
    return out.join(", ") || "the order";
  }

  const query = (params) => new URLSearchParams(Object.entries(params).filter(([, value]) => value !== undefined && value !== null && value !== "")).toString();

  return {
    placeOrder: (order, idempotencyKey) => call("POST", "/api/orders", order, { "Idempotency-Key": idempotencyKey }),
    myOrders: (cursor) => call("GET", `/api/orders?${query({ limit: 20, cursor })}`),
    getOrder: (id) => call("GET", `/api/orders/${encodeURIComponent(id)}`),
    order: (id) => call("GET", `/orders/${encodeURIComponent(id)}`),
    search: (params) => call("GET", `/orders?${query({ limit: 20, ...params })}`),
    confirm: (id) => call("POST", `/orders/${encodeURIComponent(id)}/confirm`),
    cancel: (id) => call("POST", `/orders/${encodeURIComponent(id)}/cancel`, {}),
    subscribe: (id, subscriberId) => call("POST", `/orders/${encodeURIComponent(id)}/subscribers`, { subscriberId }),
  };
})();
