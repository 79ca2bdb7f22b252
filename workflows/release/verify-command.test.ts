// The signature rules on their own: signatures made by node:crypto (as the CLI and the Slack app make
// them) verified by the pure-JS verifier the workflow runs, and every way a signature can be wrong.
import { generateKeyPairSync } from 'node:crypto';
import { CommandSigner, publicKeyBase64 } from '../../client/signing';
import { fromBase64, toBase64, utf8 } from '../../contract/command-signature';
import type { Actor } from '../../contract/messages';
import type { CommandAuth } from '../../contract/plan';
import { parseActor } from './commands';
import { commandId, verifyCommand, type VerifyContext } from './verify-command';

const NOW = Date.UTC(2026, 11, 1, 13, 0, 0);
const key = (name: string) => ({ name, priv: generateKeyPairSync('ed25519').privateKey });
const ana = key('ana');
const mallory = key('mallory');
const slack = key('slack-app');
const auth: CommandAuth = {
  requireSigned: true,
  signers: {
    ana: { publicKey: publicKeyBase64(ana.priv), frontEnd: false },
    mallory: { publicKey: publicKeyBase64(mallory.priv), frontEnd: false },
    'slack-app': { publicKey: publicKeyBase64(slack.priv), frontEnd: true },
  },
  releaseManagers: [],
  maxAgeMs: 300_000,
  futureSkewMs: 60_000,
};
const ctx: VerifyContext = { workflowId: 'release:checkout', runId: 'run-1', stage: 'full rollout 100 %', now: NOW };
const target = { workflowId: ctx.workflowId, runId: ctx.runId, stage: ctx.stage };

function signed(
  k: { priv: ReturnType<typeof key>['priv'] },
  actor: Omit<Actor, 'signed' | 'stage'>,
  over: Partial<typeof target> = {},
  at = NOW,
  as?: string,
): Actor {
  return new CommandSigner(k.priv, as, () => at).sign('approve', actor, { ...target, ...over });
}

test('a command signed by node:crypto verifies in the pure verifier, and survives the payload parser unchanged', () => {
  const actor = signed(ana, { by: 'ana', reason: 'looks good — ✓' });
  const parsed = parseActor(JSON.parse(JSON.stringify(actor)));
  expect(parsed).toEqual({ actor });
  expect(verifyCommand(auth, ctx, 'approve', actor)).toEqual({ ok: true, signer: 'ana' });
});

test('a front end signs for the person it verified, via included', () => {
  const actor = signed(slack, { by: 'U024BE7LH', via: 'group:S0614TZR7' }, {}, NOW, 'slack-app');
  expect(verifyCommand(auth, ctx, 'approve', actor)).toEqual({ ok: true, signer: 'slack-app' });
});

test.each<[string, () => Actor, RegExp, string?]>([
  ['unsigned', () => ({ by: 'ana', stage: ctx.stage }), /^unsigned/],
  ['an unknown key', () => signed(key('eve'), { by: 'eve' }), /key "eve", which the config does not list/],
  ["a person's key signing for someone else", () => signed(mallory, { by: 'ana' }, {}, NOW, 'mallory'), /key "mallory" signs for "mallory" only/],
  ["forged: ana's name, mallory's key", () => signed(mallory, { by: 'ana' }), /does not verify with key "ana"/],
  ['via from a person key', () => signed(ana, { by: 'ana', via: 'group:S0614TZR7' }), /via .* only from a front end/],
  ['another release', () => signed(ana, { by: 'ana' }, { workflowId: 'release:orders' }), /another release \("release:orders"\)/],
  ['another run', () => signed(ana, { by: 'ana' }, { runId: 'run-0' }), /another run/],
  ['another stage', () => signed(ana, { by: 'ana' }, { stage: 'canary 25 %' }), /signed for "canary 25 %", but the release is at "full rollout 100 %"/],
  ['stale (6 min)', () => signed(ana, { by: 'ana' }, {}, NOW - 360_000), /360 s old; at most 300 s/],
  ['dated 2 min in the future', () => signed(ana, { by: 'ana' }, {}, NOW + 120_000), /120 s in the future/],
  ['the command changed after signing', () => ({ ...signed(ana, { by: 'ana' }), reason: 'added later' }), /does not verify/, 'approve'],
  ['signed for approve, sent as rollback', () => signed(ana, { by: 'ana' }), /does not verify/, 'rollback'],
  [
    'a signature that is not base64',
    () => {
      const a = signed(ana, { by: 'ana' });
      return { ...a, signed: { ...a.signed!, sig: '!'.repeat(88) } };
    },
    /not 64 bytes/,
  ],
])('refused: %s', (_name, make, why, cmd = 'approve') => {
  const v = verifyCommand(auth, ctx, cmd as 'approve', make());
  expect(v.ok).toBe(false);
  expect(v.ok ? '' : v.why).toMatch(why);
});

test('the edges of the time limits are inclusive; a prototype key name is not a signer', () => {
  expect(verifyCommand(auth, ctx, 'approve', signed(ana, { by: 'ana' }, {}, NOW - 300_000)).ok).toBe(true);
  expect(verifyCommand(auth, ctx, 'approve', signed(ana, { by: 'ana' }, {}, NOW + 60_000)).ok).toBe(true);
  const proto = signed(ana, { by: '__proto__' }, {}, NOW, '__proto__');
  expect(verifyCommand(auth, ctx, 'approve', proto)).toEqual({ ok: false, why: expect.stringContaining('does not list') });
});

test('a replay is the same command id; another click is another', () => {
  const a = signed(ana, { by: 'ana' });
  expect(commandId('approve', a)).toBe(commandId('approve', JSON.parse(JSON.stringify(a))));
  expect(commandId('approve', signed(ana, { by: 'ana' }, {}, NOW + 1))).not.toBe(commandId('approve', a));
  expect(commandId('approve', { by: 'ana' })).toBeNull();
});

test('the signature block is checked for shape before anything is verified', () => {
  const a = signed(ana, { by: 'ana' });
  expect(parseActor({ ...a, signed: { ...a.signed, extra: 1 } })).toEqual({ refused: 'unknown field in signed (allowed: key, workflowId, runId, at, sig)' });
  expect(parseActor({ ...a, signed: { ...a.signed, at: '1' } })).toEqual({ refused: 'signed.at must be a time in epoch milliseconds' });
  expect(parseActor({ ...a, signed: { ...a.signed, key: 'x'.repeat(65) } })).toEqual({ refused: 'signed.key is longer than 64 characters' });
  expect(parseActor({ ...a, signed: 'yes' })).toEqual({ refused: 'signed must be an object' });
});

test('hand-written base64 and UTF-8 agree with Node', () => {
  for (const n of [0, 1, 2, 3, 31, 32, 64]) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 255);
    expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
    expect(Buffer.from(fromBase64(Buffer.from(bytes).toString('base64'))!)).toEqual(Buffer.from(bytes));
  }
  expect(fromBase64('abc')).toBeNull();
  for (const s of ['ana', 'é', '✓ 100 %', '𝄞 emoji 🚀', 'a\u0000b']) expect(Buffer.from(utf8(s))).toEqual(Buffer.from(s, 'utf8'));
});
