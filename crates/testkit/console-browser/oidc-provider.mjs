// A real third-party OpenID provider for the console's test: oidc-provider from npm (its
// own login and consent pages, devInteractions), configured — not the services loosened —
// to mint what orderflow trusts from any issuer:
//   - the public client orderflow-web, authorization code with PKCE (S256), refresh tokens;
//   - access tokens as RS256 JWTs for the one resource server, audience orderflow-api
//     (resource indicators, the default resource, so the console need not name it);
//   - Keycloak's claim layout in them (../../../../shared/DESIGN.md): preferred_username
//     and realm_access.roles (alice and bob buyers, admin admin).
import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import Provider, { errors } from "oidc-provider";

export const AUDIENCE = "orderflow-api";
const RESOURCE = "urn:orderflow:api";
const ROLES = { alice: ["buyer"], bob: ["buyer"], admin: ["admin"] };

// Listens on 127.0.0.1 (a free port) at once; the provider answers once `serve` is given
// the console's URL (its redirect URIs must be known before the client is registered).
export async function listen() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  let handler = null;
  const early = [];
  server.on("request", (request, response) => (handler ? handler(request, response) : early.push([request, response])));
  return {
    issuer,
    serve(consoleUrl) {
      handler = provider(issuer, consoleUrl).callback();
      for (const [request, response] of early.splice(0)) handler(request, response);
    },
    close: () => server.close(),
  };
}

function provider(issuer, consoleUrl) {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const key = { ...privateKey.export({ format: "jwk" }), kid: "orderflow-test", use: "sig", alg: "RS256" };
  return new Provider(issuer, {
    clients: [{
      client_id: "orderflow-web",
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      redirect_uris: [`${consoleUrl}/callback`],
      post_logout_redirect_uris: [`${consoleUrl}/`],
    }],
    jwks: { keys: [key] },
    pkce: { required: () => true },
    async findAccount(_ctx, id) {
      if (!ROLES[id]) return undefined;
      return { accountId: id, claims: () => ({ sub: id, preferred_username: id }) };
    },
    claims: { openid: ["sub"], profile: ["preferred_username"] },
    features: {
      devInteractions: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo(_ctx, indicator) {
          if (indicator !== RESOURCE) throw new errors.InvalidTarget();
          return { scope: "", audience: AUDIENCE, accessTokenFormat: "jwt", accessTokenTTL: 300, jwt: { sign: { alg: "RS256" } } };
        },
      },
    },
    async extraTokenClaims(_ctx, token) {
      const roles = ROLES[token.accountId];
      return roles && { preferred_username: token.accountId, realm_access: { roles } };
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
  });
}
