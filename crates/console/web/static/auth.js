// Sign-in for the console: the OpenID Connect authorization-code flow with PKCE (S256)
// against the issuer named in <meta name="orderflow-issuer"> (the dev issuer, Keycloak, or
// any OIDC provider: its endpoints are read from its discovery document), for the public
// client orderflow-web.
//
// Tokens live in sessionStorage (this tab only) and are refreshed 30 s before the access
// token expires; a failed refresh signs out. The state and nonce of the login are checked
// on the way back, and the code is exchanged once.
"use strict";

const Auth = (() => {
  const issuer = document.querySelector('meta[name="orderflow-issuer"]').content;
  let discovered = null;
  // The provider's endpoints (authorization_endpoint, token_endpoint, end_session_endpoint).
  function endpoints() {
    discovered ??= fetch(`${issuer}/.well-known/openid-configuration`)
      .then((response) => {
        if (!response.ok) throw new Error(`the identity provider's discovery answered ${response.status}`);
        return response.json();
      })
      .catch((error) => {
        discovered = null; // Asked again next time.
        throw error;
      });
    return discovered;
  }
  const clientId = "orderflow-web";
  const redirectUri = `${location.origin}/callback`;
  const storageKey = "orderflow.tokens";
  const pendingKey = "orderflow.login";
  let tokens = JSON.parse(sessionStorage.getItem(storageKey) || "null");
  let refreshTimer = null;
  const listeners = [];

  const base64url = (bytes) =>
    btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const random = (length = 32) => base64url(crypto.getRandomValues(new Uint8Array(length)));
  const claimsOf = (jwt) => JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));

  async function login() {
    const verifier = random(48);
    const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    const pending = { verifier, state: random(), nonce: random() };
    sessionStorage.setItem(pendingKey, JSON.stringify(pending));
    const query = new URLSearchParams({
      response_type: "code", client_id: clientId, redirect_uri: redirectUri, scope: "openid",
      state: pending.state, nonce: pending.nonce, code_challenge: challenge, code_challenge_method: "S256",
    });
    location.assign(`${(await endpoints()).authorization_endpoint}?${query}`);
  }

  async function tokenRequest(form) {
    const response = await fetch((await endpoints()).token_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: clientId, ...form }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(body.error_description || `the identity provider answered ${response.status}`);
    }
    return body;
  }

  function store(answer) {
    tokens = { ...answer, expiresAt: Date.now() + answer.expires_in * 1000 };
    sessionStorage.setItem(storageKey, JSON.stringify(tokens));
    scheduleRefresh();
    listeners.forEach((listener) => listener(user()));
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    if (!tokens) return;
    const wait = Math.max(5_000, tokens.expiresAt - Date.now() - 30_000);
    refreshTimer = setTimeout(refresh, wait);
  }

  async function refresh() {
    if (!tokens?.refresh_token) return signOutLocally();
    try {
      store(await tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refresh_token }));
    } catch {
      signOutLocally();
    }
  }

  // Finishes a login when the page is the redirect back: returns an error message, or null.
  async function completeLogin() {
    if (location.pathname !== "/callback") {
      if (tokens) scheduleRefresh();
      return null;
    }
    const query = new URLSearchParams(location.search);
    const pending = JSON.parse(sessionStorage.getItem(pendingKey) || "null");
    sessionStorage.removeItem(pendingKey);
    history.replaceState(null, "", "/");
    if (query.get("error")) return query.get("error_description") || query.get("error");
    if (!pending || query.get("state") !== pending.state) return "The sign-in could not be completed (its state did not match). Please sign in again.";
    try {
      const answer = await tokenRequest({
        grant_type: "authorization_code", code: query.get("code") || "", redirect_uri: redirectUri, code_verifier: pending.verifier,
      });
      if (answer.id_token && claimsOf(answer.id_token).nonce !== pending.nonce) return "The sign-in could not be verified (nonce). Please sign in again.";
      store(answer);
      return null;
    } catch (error) {
      return `The sign-in failed: ${error.message}`;
    }
  }

  function signOutLocally() {
    clearTimeout(refreshTimer);
    tokens = null;
    sessionStorage.removeItem(storageKey);
    listeners.forEach((listener) => listener(null));
  }

  async function logout() {
    const idToken = tokens?.id_token;
    signOutLocally();
    const endSession = await endpoints().then((found) => found.end_session_endpoint, () => null);
    if (!endSession) return; // Signed out here; the provider offers no end-session endpoint.
    const query = new URLSearchParams({ client_id: clientId, post_logout_redirect_uri: `${location.origin}/` });
    if (idToken) query.set("id_token_hint", idToken);
    location.assign(`${endSession}?${query}`);
  }

  function user() {
    if (!tokens) return null;
    const claims = claimsOf(tokens.access_token);
    const roles = claims.realm_access?.roles ?? [];
    return { id: claims.sub, name: claims.preferred_username ?? claims.sub, isAdmin: roles.includes("admin"), isBuyer: roles.includes("buyer") };
  }

  return {
    login, logout, completeLogin, user, refresh,
    accessToken: () => tokens?.access_token ?? "",
    onChange: (listener) => listeners.push(listener),
  };
})();
