// A real OpenID Connect provider for the tests (panva's oidc-provider, its own login and consent pages:
// any login name is accepted and becomes the account, and the ID token carries it as
// preferred_username). It runs in a process of its own (the package is ESM only) on 127.0.0.1:
//   node test/support/oidc-provider.mjs <client_id> <client_secret> <redirect_uri>
// prints {"oidc":"up","issuer":"http://127.0.0.1:<port>"} once it listens; SIGTERM stops it.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const [clientId, clientSecret, redirectUri] = process.argv.slice(2);
if (!clientId || !clientSecret || !redirectUri) {
  console.error('usage: oidc-provider.mjs <client_id> <client_secret> <redirect_uri>');
  process.exit(2);
}
const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      { client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'] },
    ],
    claims: { openid: ['sub'], profile: ['preferred_username'] },
    // the scope's claims go into the ID token itself, which is what the dashboard reads
    conformIdTokenClaims: false,
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, preferred_username: sub }) }),
    features: { devInteractions: { enabled: true } },
    cookies: { keys: [randomBytes(32).toString('hex')] },
  });
  provider.on('server_error', (_ctx, err) => console.error(`oidc-provider: ${err.message}`));
  server.on('request', provider.callback());
  console.log(JSON.stringify({ oidc: 'up', issuer }));
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
