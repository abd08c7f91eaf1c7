// Keycloak stand-in for elTiketi's tests: oidc-provider behind a tiny node:http wrapper.
// Test-only. Binds 127.0.0.1. Configured by environment variables (see tests/infra/oidc.py).
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as querystring from 'node:querystring';

import * as jose from 'jose';
import Provider, { errors } from 'oidc-provider';

const env = process.env;
const PORT = Number(env.OIDC_PORT);
const REALM = env.OIDC_REALM ?? 'eltiketi';
const PREFIX = `/realms/${REALM}`;
const ISSUER = `http://127.0.0.1:${PORT}${PREFIX}`;
const API = { id: env.OIDC_API_CLIENT_ID ?? 'eltiketi-api', secret: env.OIDC_API_CLIENT_SECRET ?? 'eltiketi-api-secret' };
const WEB_ID = env.OIDC_WEB_CLIENT_ID ?? 'eltiketi-web';
const REDIRECT_URI = env.OIDC_REDIRECT_URI ?? 'http://127.0.0.1/callback';
// The shop's backend-for-frontend: a confidential client with PKCE. Its loopback redirect and
// post-logout URIs match on any port (RFC 8252 7.3, oidc-provider's rule for native clients),
// so one provider serves apps started on free ports; Keycloak lists the real URLs instead.
const SHOP = { id: env.OIDC_SHOP_CLIENT_ID ?? 'eltiketi-shop', secret: env.OIDC_SHOP_CLIENT_SECRET ?? 'eltiketi-shop-secret' };
const PASSWORD = env.OIDC_PASSWORD ?? 'pass';
const TTL = Number(env.OIDC_ACCESS_TOKEN_TTL ?? 300);
const JWT_RESOURCE = 'urn:eltiketi:api'; // -> JWT access tokens, aud "eltiketi-api"
const OPAQUE_RESOURCE = 'urn:eltiketi:opaque'; // -> opaque access tokens (introspection)

// Hard-coded realm users: username -> Keycloak-like profile (sub is a fixed UUID).
const USERS = Object.fromEntries([
  ['alice', '6f1b2c3d-0000-4000-8000-00000000a11c', ['customer'], 'Alice Buyer', '+4915100000001'],
  ['bob', '6f1b2c3d-0000-4000-8000-000000000b0b', ['customer'], 'Bob Buyer', '+4915100000002'],
  ['olga', '6f1b2c3d-0000-4000-8000-0000000019a0', ['organizer'], 'Olga Organizer', '+4915100000003'],
  ['sam', '6f1b2c3d-0000-4000-8000-0000000005a3', ['staff'], 'Sam Staff', '+4915100000004'],
  ['admin', '6f1b2c3d-0000-4000-8000-0000000ad311', ['admin'], 'Ada Admin', '+4915100000005'],
].map(([username, sub, roles, name, phone]) => [username, {
  sub, roles, username, name, phone, email: `${username}@eltiketi.test`,
}]));
const BY_SUB = new Map(Object.values(USERS).map((u) => [u.sub, u]));

function keycloakClaims(clientId, user) {
  const roles = user ? user.roles : [];
  return {
    azp: clientId,
    preferred_username: user ? user.username : `service-account-${clientId}`,
    ...(user ? { email: user.email, phone_number: user.phone, name: user.name } : { client_id: clientId }),
    realm_access: { roles: [...roles] },
    resource_access: { [API.id]: { roles: [...roles] } },
  };
}

// Signing keys, newest first. Rotation prepends a key and rebuilds the provider (state lives in
// oidc-provider's module-level memory adapter, so sessions, grants and tokens survive).
const signingKeys = [];
function newSigningKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `${REALM}-${signingKeys.length + 1}-${crypto.randomBytes(4).toString('hex')}`;
  signingKeys.unshift({ ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' });
  return kid;
}
const publicJwks = () => ({ keys: signingKeys.map(({ kty, n, e, kid, alg, use }) => ({ kty, n, e, kid, alg, use })) });
const cookieKeys = [crypto.randomBytes(32).toString('hex')];
const kc = (path) => `/protocol/openid-connect${path}`;

function buildProvider() {
  const provider = new Provider(ISSUER, {
    jwks: { keys: signingKeys.map((k) => ({ ...k })) },
    cookies: { keys: cookieKeys },
    clients: [
      { client_id: API.id, client_secret: API.secret, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
      {
        client_id: WEB_ID, token_endpoint_auth_method: 'none', redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      },
      {
        client_id: SHOP.id, client_secret: SHOP.secret, token_endpoint_auth_method: 'client_secret_basic',
        application_type: 'native', redirect_uris: ['http://127.0.0.1/login/callback'],
        post_logout_redirect_uris: ['http://127.0.0.1/'],
        grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      },
    ],
    routes: {
      authorization: kc('/auth'), token: kc('/token'), jwks: kc('/certs'), userinfo: kc('/userinfo'),
      introspection: kc('/token/introspect'), revocation: kc('/revoke'), end_session: kc('/logout'),
    },
    responseTypes: ['code'],
    scopes: ['openid', 'offline_access', 'profile', 'email', 'phone'],
    claims: {
      openid: ['sub'], profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'], phone: ['phone_number', 'phone_number_verified'],
    },
    conformIdTokenClaims: false, // put profile claims into the ID token, like Keycloak
    ttl: { AccessToken: TTL, ClientCredentials: TTL, IdToken: TTL },
    pkce: { required: () => true },
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    async findAccount(ctx, sub) {
      const user = BY_SUB.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub, preferred_username: user.username, name: user.name, email: user.email,
            email_verified: true, phone_number: user.phone, phone_number_verified: true,
          };
        },
      };
    },
    extraTokenClaims: async (ctx, token) => keycloakClaims(token.clientId, BY_SUB.get(token.accountId)),
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: {
        enabled: true,
        allowedPolicy: async (ctx, client, token) => client.clientId === token.clientId || client.clientId === API.id,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx, client, oneOf) => oneOf ?? JWT_RESOURCE,
        useGrantedResource: () => true,
        async getResourceServerInfo(ctx, indicator) {
          const base = { scope: 'openid profile email phone', audience: API.id };
          if (indicator === JWT_RESOURCE) return { ...base, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
          if (indicator === OPAQUE_RESOURCE) return { ...base, accessTokenFormat: 'opaque' };
          throw new errors.InvalidTarget();
        },
      },
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  return { provider, handle: provider.callback() };
}

// JWT access tokens: oidc-provider refuses to introspect/revoke them; Keycloak does, so do we.
const revokedJtis = new Set();
const isJwt = (token) => { try { return !!jose.decodeProtectedHeader(token); } catch { return false; } };
function clientFrom(req, body) {
  const m = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
  let [id, secret] = [body.client_id, body.client_secret];
  if (m) [id, secret] = Buffer.from(m[1], 'base64').toString().split(':').map((s) => decodeURIComponent(s.replaceAll('+', ' ')));
  if (id === API.id && secret === API.secret) return id;
  if (id === WEB_ID && !secret) return id; // public client: may revoke its own tokens
  return undefined;
}
const json = (res, status, body) => { res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }); res.end(JSON.stringify(body)); };
async function jwtIntrospectOrRevoke(req, res, body, route) {
  const client = clientFrom(req, body);
  if (!client || (route === 'introspect' && client !== API.id)) return json(res, 401, { error: 'invalid_client' });
  let payload;
  try {
    ({ payload } = await jose.jwtVerify(body.token, jose.createLocalJWKSet(publicJwks()), { issuer: ISSUER }));
  } catch { payload = undefined; }
  if (route === 'revoke') { if (payload?.jti) revokedJtis.add(payload.jti); res.writeHead(200); return res.end(); }
  if (!payload || revokedJtis.has(payload.jti)) return json(res, 200, { active: false });
  return json(res, 200, { ...payload, active: true, client_id: payload.client_id ?? payload.azp, username: payload.preferred_username, token_type: 'Bearer' });
}

const readBody = async (req) => { const chunks = []; for await (const c of req) chunks.push(c); return Buffer.concat(chunks); };
let current = (() => { newSigningKey(); return buildProvider(); })();

const server = http.createServer(async (req, res) => {
  try {
    const { pathname } = new URL(req.url, ISSUER);
    if (pathname === '/__admin/rotate' && req.method === 'POST') {
      if (!['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(req.socket.remoteAddress)) return json(res, 403, {});
      const kid = newSigningKey();
      current = buildProvider();
      return json(res, 200, { kid, kids: signingKeys.map((k) => k.kid) });
    }
    if (pathname !== PREFIX && !pathname.startsWith(`${PREFIX}/`)) return json(res, 404, { error: 'not_found' });
    const route = pathname.slice(PREFIX.length);
    if (req.method === 'POST' && /form-urlencoded/.test(req.headers['content-type'] ?? '')) {
      const raw = await readBody(req);
      const body = querystring.parse(raw.toString());
      if ([kc('/token/introspect'), kc('/revoke')].includes(route) && isJwt(body.token)) {
        return await jwtIntrospectOrRevoke(req, res, body, route.endsWith('/revoke') ? 'revoke' : 'introspect');
      }
      if (route.startsWith('/interaction/') && body.prompt === 'login') { // check the password, map username -> sub
        const user = USERS[body.login];
        if (!user || body.password !== PASSWORD) {
          res.writeHead(401, { 'content-type': 'text/html' });
          return res.end('<p id="error">Invalid username or password.</p>');
        }
        body.login = user.sub;
      }
      req.body = Buffer.from(querystring.stringify(body)); // oidc-provider reads req.body once the stream is consumed
    }
    req.originalUrl = req.url;
    req.url = req.url.slice(PREFIX.length) || '/';
    return current.handle(req, res);
  } catch (err) {
    console.error(err);
    if (!res.headersSent) json(res, 500, { error: 'server_error' });
    else res.end();
  }
});
server.listen(PORT, '127.0.0.1', () => console.log(`OIDC READY ${ISSUER}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { server.close(); process.exit(0); });
