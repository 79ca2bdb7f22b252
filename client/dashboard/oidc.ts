// Sign-in by OpenID Connect, with any provider (generic issuer discovery): the authorization code flow
// with PKCE, state and nonce, through openid-client. An attempt is bound to the browser that began it by a
// cookie of its own (SameSite=Lax: the provider's redirect back is a cross-site navigation, which a Strict
// cookie would not ride); the person is the ID token's `person_claim`, which must be a name as config
// lists people. Plain http is accepted only for a provider on this machine (a local test provider).
import { randomBytes } from 'node:crypto';
import type * as OpenIdClient from 'openid-client';
import type { QuadConfig } from '../../config/schema';
import { InputError } from '../../config/errors';
import { envNameOf } from '../../config/env-ref';
import { validatePerson } from '../../config/resolve';

type OidcSettings = NonNullable<NonNullable<QuadConfig['dashboard']>['oidc']>;

export const OIDC_COOKIE = 'quad_oidc';
/** An attempt left unfinished for 10 minutes is dropped; at most this many wait at once. */
const ATTEMPT_MS = 10 * 60 * 1000;
const MAX_ATTEMPTS = 1000;

export interface OidcSignIn {
  /** the provider, as the sign-in page names it */
  issuer: string;
  /** A new attempt: where to send the browser, and the cookie that binds the attempt to it. */
  begin(): Promise<{ location: string; cookie: string }>;
  /** The provider's redirect back: the person it vouched for. Throws InputError (in words) when not. */
  finish(callback: URL, cookieHeader: string | undefined): Promise<string>;
}

const isLoopback = (u: URL) => ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);

export async function oidcSignIn(s: OidcSettings, env: NodeJS.ProcessEnv = process.env, now: () => number = Date.now): Promise<OidcSignIn> {
  // openid-client is ESM only: loaded here, when OIDC is configured
  const oc: typeof OpenIdClient = await import('openid-client');
  const issuer = new URL(s.issuer);
  const redirect = new URL(s.redirect_url);
  if (issuer.protocol !== 'https:' && !isLoopback(issuer)) throw new InputError(`dashboard.oidc.issuer: ${s.issuer} is not https`);
  let secret: string | undefined;
  if (s.client_secret) {
    const name = envNameOf(s.client_secret);
    secret = env[name];
    if (!secret) throw new InputError(`the dashboard's OIDC client secret env var ${name} is not set`);
  }
  const config = await oc.discovery(issuer, s.client_id, undefined, secret ? oc.ClientSecretBasic(secret) : oc.None(), {
    ...(issuer.protocol === 'http:' ? { execute: [oc.allowInsecureRequests] } : {}),
  });
  const attempts = new Map<string, { verifier: string; state: string; nonce: string; expiresAt: number }>();
  const secure = redirect.protocol === 'https:';

  return {
    issuer: issuer.href,
    async begin() {
      for (const [k, a] of attempts) if (a.expiresAt < now()) attempts.delete(k);
      if (attempts.size >= MAX_ATTEMPTS) attempts.delete(attempts.keys().next().value!);
      const id = randomBytes(32).toString('base64url');
      const verifier = oc.randomPKCECodeVerifier();
      const attempt = { verifier, state: oc.randomState(), nonce: oc.randomNonce(), expiresAt: now() + ATTEMPT_MS };
      attempts.set(id, attempt);
      const location = oc.buildAuthorizationUrl(config, {
        redirect_uri: redirect.href,
        scope: s.scopes.join(' '),
        code_challenge: await oc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state: attempt.state,
        nonce: attempt.nonce,
      }).href;
      const cookie = `${OIDC_COOKIE}=${id}; Path=/oidc; HttpOnly; SameSite=Lax; Max-Age=${ATTEMPT_MS / 1000}${secure ? '; Secure' : ''}`;
      return { location, cookie };
    },
    async finish(callback, cookieHeader) {
      const id = /(?:^|;\s*)quad_oidc=([A-Za-z0-9_-]{20,100})/.exec(cookieHeader ?? '')?.[1];
      const attempt = id ? attempts.get(id) : undefined;
      if (id) attempts.delete(id);
      if (!attempt || attempt.expiresAt < now()) throw new InputError('this sign-in was not started here, or it took too long; start again');
      // the provider answers at our registered callback: the URL it used is ours with its query
      const current = new URL(`${redirect.origin}${redirect.pathname}${callback.search}`);
      let claims: Record<string, unknown> | undefined;
      try {
        const tokens = await oc.authorizationCodeGrant(config, current, {
          pkceCodeVerifier: attempt.verifier,
          expectedState: attempt.state,
          expectedNonce: attempt.nonce,
          idTokenExpected: true,
        });
        claims = tokens.claims();
      } catch (err) {
        throw new InputError(`the provider's answer was refused: ${String((err as Error)?.message ?? err).slice(0, 200)}`);
      }
      const person = claims?.[s.person_claim];
      if (typeof person !== 'string') throw new InputError(`the provider's ID token has no ${s.person_claim} claim`);
      return validatePerson(person, `the ID token's ${s.person_claim}`);
    },
  };
}
