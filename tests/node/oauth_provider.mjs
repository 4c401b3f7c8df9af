// A real OAuth 2.0 / OpenID Connect authorization server for the OAuth tests:
// oidc-provider (an OpenID Certified implementation) on 127.0.0.1, with
// client credentials, resource indicators (RFC 8707: tokens bound to one
// audience, as JWTs or opaque), introspection (RFC 7662), and token exchange
// (RFC 8693, which oidc-provider leaves to a registered grant: here it mints
// a token for the upstream audience with the subject of the token exchanged).
//
//   node oauth_provider.mjs '<config as JSON>'
//
// config: {port, issuer?, keysFile, keyIds: ["k2", "k1"] (the first signs; a
//          kid not in keysFile is generated and saved, so a restart with a
//          new kid first is a key rotation), clients: [{id, secret, scope,
//          ttl?, format?: "jwt" | "opaque", exchangesFor?: [audience],
//          redirectUris?: [uri]}], resources: {<audience>: {scope}}}
//
// A client with redirectUris also signs people in (authorization code with
// PKCE) through oidc-provider's own login and consent pages, where any
// login name is accepted and becomes the person's subject.
//
// GET /test/requests: the requests it has served, by path.
// Prints "listening" once it accepts connections; exits when stdin closes
// (the test that started it is gone) or after 10 minutes.

import fs from 'node:fs';
import * as jose from 'jose';
import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(process.argv[2]);
const issuer = config.issuer ?? `http://127.0.0.1:${config.port}`;

// Signing keys: kept across restarts in keysFile, by kid.
const saved = fs.existsSync(config.keysFile) ? JSON.parse(fs.readFileSync(config.keysFile, 'utf8')) : [];
const keys = [];
for (const kid of config.keyIds) {
  let key = saved.find((k) => k.kid === kid);
  if (!key) {
    const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
    key = { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
    saved.push(key);
  }
  keys.push(key);
}
fs.writeFileSync(config.keysFile, JSON.stringify(saved));

// Every scope is known to the server, so a client asking for one it wasn't given is refused.
const allScopes = new Set(
  [...config.clients.map((c) => c.scope), ...Object.values(config.resources).map((r) => r.scope)].flatMap((s) =>
    s.split(' '),
  ),
);
const provider = new Provider(issuer, {
  clients: config.clients.map((c) => ({
    client_id: c.id,
    client_secret: c.secret,
    grant_types: [
      'client_credentials',
      'urn:ietf:params:oauth:grant-type:token-exchange',
      ...(c.redirectUris ? ['authorization_code'] : []),
    ],
    redirect_uris: c.redirectUris ?? [],
    response_types: c.redirectUris ? ['code'] : [],
    scope: c.scope,
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  jwks: { keys },
  scopes: [...allScopes],
  features: {
    devInteractions: { enabled: config.clients.some((c) => c.redirectUris) },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      useGrantedResource: () => true,
      getResourceServerInfo(ctx, resource, client) {
        const server = config.resources[resource];
        if (!server) throw new errors.InvalidTarget(`unknown resource ${resource}`);
        const settings = config.clients.find((c) => c.id === client.clientId) ?? {};
        return {
          scope: server.scope,
          audience: resource,
          accessTokenTTL: settings.ttl ?? 600,
          accessTokenFormat: settings.format ?? 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
});

// RFC 8693: the caller (an MCP server's own client) presents a user's token
// for itself (subject_token) and gets one for `audience`, with the user as
// subject and itself as actor.
const signing = await jose.importJWK(keys[0], 'RS256');
const verifying = jose.createLocalJWKSet({ keys: keys.map(({ d, p, q, dp, dq, qi, ...pub }) => pub) });
provider.registerGrantType(
  'urn:ietf:params:oauth:grant-type:token-exchange',
  async (ctx) => {
    const { subject_token: subjectToken, subject_token_type: type, audience, scope } = ctx.oidc.params;
    const fail = (description) => {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: description };
    };
    if (type !== 'urn:ietf:params:oauth:token-type:access_token') return fail('subject_token_type must be an access token');
    if (!config.resources[audience]) return fail(`unknown audience ${audience}`);
    let subject;
    try {
      ({ payload: subject } = await jose.jwtVerify(subjectToken, verifying, { issuer }));
    } catch (error) {
      return fail(`subject_token: ${error.message}`);
    }
    // Only the resource a token was issued for may exchange it.
    const actor = ctx.oidc.client.clientId;
    const allowed = config.clients.find((c) => c.id === actor)?.exchangesFor ?? [];
    if (![subject.aud].flat().some((aud) => allowed.includes(aud))) {
      return fail(`client ${actor} may not exchange tokens issued for ${subject.aud}`);
    }
    const ttl = 300;
    const accessToken = await new jose.SignJWT({
      client_id: subject.client_id,
      scope: scope ?? config.resources[audience].scope,
      act: { sub: actor },
    })
      .setProtectedHeader({ alg: 'RS256', kid: keys[0].kid, typ: 'at+jwt' })
      .setIssuer(issuer)
      .setSubject(subject.sub)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(`${ttl}s`)
      .setJti(crypto.randomUUID())
      .sign(signing);
    ctx.body = {
      access_token: accessToken,
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: ttl,
    };
  },
  ['subject_token', 'subject_token_type', 'audience', 'scope', 'resource', 'requested_token_type'],
);

// Requests seen, by path, for tests that bound what a server costs its
// issuer: GET /test/requests answers them as JSON.
const seen = {};
provider.use(async (ctx, next) => {
  if (ctx.path === '/test/requests') {
    ctx.body = seen;
    return;
  }
  seen[ctx.path] = (seen[ctx.path] ?? 0) + 1;
  await next();
});

const server = provider.listen(config.port, '127.0.0.1', () => console.log('listening'));
const stop = () => server.close(() => process.exit(0));
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
setTimeout(stop, 600_000).unref();
