// The email trigger's reading of messages: the command grammar, DKIM (signed by nodemailer, checked by
// mailauth against the test domain's published key), the shared secret, who may start, and the SMTP answers
// of a real smtp-server on 127.0.0.1 (oversize 552, malformed 550, the server still up). Starting is
// recorded here; test/e2e/email-trigger.test.ts starts real releases.
import { parseConfig } from '../../config/load';
import type { QuadConfig } from '../../config/schema';
import { InputError } from '../../config/errors';
import type { ReleaseAsk } from '../../config/resolve';
import type { Started, StartOnce } from '../releases';
import { eventually } from '../../test/support/release-harness';
import { buildMessage, dkimKey, resolverOf, sendRaw, startMailSink, type MailSink, type TestMessage } from '../../test/support/mail';
import { createInboundEmail, createInboundHandler, parseCommand, quote, messageRequestId, replyTransport, type InboundEmail } from './inbound';

// room for a loaded machine: RSA signing and checking, and real SMTP round trips
jest.setTimeout(20_000);

const CONFIG = (verify: 'dkim' | 'secret') => `
services:
  checkout: { starters: ['email:ana@example.com', 'email:bo@example.com'] }
  search: { starters: ['email:ana@example.com'] }
triggers:
  email:
    senders: [ana@example.com, bo@example.com, cy@example.com]
    verify: ${verify}
    ${verify === 'secret' ? 'secret: ${QUAD_TEST_EMAIL_SECRET}' : ''}
    service: checkout
    reply_from: quad@quad.test
    max_bytes: 4096
`;
const SECRET = `s3cret-${process.pid}-x`;

const example = dkimKey('example.com');
const other = dkimKey('evil.test');
/** the same selector and domain as `example`, another key: a forged signature */
const forger = dkimKey('example.com');
const resolver = resolverOf(example, other);

/** Records each start; a request ID seen before gets its release again, as Releases does. */
function recorder() {
  const starts: { ask: ReleaseAsk; once?: StartOnce }[] = [];
  const byId = new Map<string, Started>();
  return {
    starts,
    async release(ask: ReleaseAsk, once?: StartOnce): Promise<Started> {
      const known = once && byId.get(once.requestId);
      if (known) return { ...known, again: true };
      if (ask.version === 'v9.9.9') throw new InputError('checkout v1.0.0 is already releasing (canary 10 %, 10 % traffic), started by ana just now');
      starts.push({ ask, once });
      const s = {
        workflowId: `release:${ask.service}`,
        runId: `run-${starts.length}`,
        url: `http://127.0.0.1:8233/namespaces/default/workflows/release%3A${ask.service}/run-${starts.length}`,
      };
      if (once) byId.set(once.requestId, s);
      return s;
    },
  };
}

function handlerFor(verify: 'dkim' | 'secret') {
  const rec = recorder();
  const cfg = parseConfig(CONFIG(verify), 'test config');
  const handle = createInboundHandler({ releases: rec, config: cfg, secret: verify === 'secret' ? SECRET : undefined, resolver, log: () => undefined });
  const read = async (m: TestMessage, mailFrom: string | null = m.from) => handle(await buildMessage(m), mailFrom);
  return { rec, read };
}

describe('the command grammar', () => {
  test.each([
    ['deploy v1.2.3 to production', { service: 'checkout', version: 'v1.2.3' }],
    ['  Deploy   v1.2.3   TO Production ', { service: 'checkout', version: 'v1.2.3' }],
    ['deploy search v1.2.3', { service: 'search', version: 'v1.2.3' }],
    ['deploy search 2026-12-01.1 to production', { service: 'search', version: '2026-12-01.1' }],
  ])('%j → %j', (line, want) => expect(parseCommand(line, 'checkout')).toEqual(want));

  test.each([
    'deploy',
    'deploy v1.2.3',
    'deploy v1.2.3 to staging',
    'please deploy v1.2.3 to production',
    'deploy a b c d e f',
    'Re: deploy v1.2.3 to production',
    '',
  ])('%j is not a command', (line) => expect(parseCommand(line, 'checkout')).toBeNull());

  test('a bad service or version is named, and "deploy <version> to production" needs a default service', () => {
    expect(parseCommand('deploy Checkout v1 to production', 'x')).toMatchObject({ error: expect.stringContaining('not a service name') });
    expect(parseCommand('deploy checkout v1;rm', 'x')).toMatchObject({ error: expect.stringContaining('not a version') });
    expect(parseCommand('deploy checkout -v1', 'x')).toMatchObject({ error: expect.stringContaining('not a version') });
    expect(parseCommand('deploy v1.2.3 to production', undefined)).toMatchObject({ error: expect.stringContaining('which service') });
  });

  test('a quote is bounded, loses control and bidi characters, and never shows the secret', () => {
    const q = quote(`deploy\u202e v1 \u0007 token:${SECRET} ${'x'.repeat(200)}`, SECRET);
    expect(q).not.toContain(SECRET);
    expect(q.includes('\u202e') || q.includes('\u0007')).toBe(false);
    expect(JSON.parse(q).length).toBeLessThanOrEqual(81);
    expect(quote('deploy v1 token:almost-the-secret', SECRET)).toBe('"deploy v1 token:…"');
  });

  test('the config: verify: secret needs its secret; senders and email: starters are addresses', () => {
    expect(() => parseConfig(CONFIG('secret').replace('secret: ${QUAD_TEST_EMAIL_SECRET}', ''), 'c')).toThrow(/verify: secret needs secret/);
    expect(() => parseConfig(CONFIG('dkim').replace('senders: [ana@example.com,', 'senders: ["Ana <ana@example.com>",'), 'c')).toThrow(/an address like/);
    expect(() => parseConfig(CONFIG('dkim').replace("'email:bo@example.com'", "'email:*'"), 'c')).toThrow(/email:<address>/);
  });
});

describe('verify: dkim', () => {
  test('a DKIM-signed message from a sender who may start starts the release once per Message-ID, and the reply has the link', async () => {
    const { rec, read } = handlerFor('dkim');
    const m = { from: 'Ana <ana@example.com>', subject: 'deploy v1.2.3 to production', dkim: example, messageId: '<m1@example.com>' };
    const out = await read(m);
    expect(out.smtp).toEqual({ code: 250, text: '2.0.0 started release:checkout' });
    expect(rec.starts).toEqual([
      {
        ask: { service: 'checkout', version: 'v1.2.3', requestedBy: 'ana@example.com', source: 'email', reason: 'email from ana@example.com' },
        once: { requestId: messageRequestId('ana@example.com', '<m1@example.com>') },
      },
    ]);
    expect(out.reply).toMatchObject({ to: 'ana@example.com', subject: 'Re: deploy v1.2.3 to production', inReplyTo: '<m1@example.com>' });
    expect(out.reply!.text).toContain('http://127.0.0.1:8233/namespaces/default/workflows/release%3Acheckout/run-1');
    // the same message again (a redelivery) starts nothing new
    const again = await read(m);
    expect(rec.starts).toHaveLength(1);
    expect(again.reply!.text).toContain('had already started checkout v1.2.3');
    // the command may be the first body line, naming the service
    const body = await read({ from: 'ana@example.com', subject: 'release please', text: '\n\ndeploy search v2.0.0\n-- \nAna', dkim: example });
    expect(body.started?.workflowId).toBe('release:search');
  });

  test.each<[string, Partial<TestMessage>, RegExp]>([
    ['unsigned', { dkim: undefined }, /has no DKIM signature/],
    ['signed by another key of the domain (forged)', { dkim: forger }, /does not prove it: fail/],
    ['signed by another domain', { dkim: other }, /pass by evil\.test, which is not the From domain example\.com/],
    ['from someone not listed', { from: 'mallory@example.com' }, /mallory@example.com is not a sender listed/],
    ['from a listed sender who is not a starter', { from: 'cy@example.com' }, /cy@example.com may not start checkout/],
    ['too old', { date: new Date(Date.now() - 30 * 3_600_000) }, /dated 30 h ago/],
    ['not a command', { subject: 'hello', text: 'how are you' }, /not a command/],
    ['for an unknown service', { subject: 'deploy payments v1.2.3' }, /payments/],
    ['for a service already releasing', { subject: 'deploy v9.9.9 to production' }, /already releasing/],
  ])('a message %s starts nothing and is answered with the reason', async (_what, change, why) => {
    const { rec, read } = handlerFor('dkim');
    const out = await read({ from: 'ana@example.com', subject: 'deploy v1.2.3 to production', dkim: example, ...change });
    expect(rec.starts).toEqual([]);
    expect(out.smtp.code).toBe(250);
    expect(out.started).toBeUndefined();
    expect(out.reply?.text).toMatch(/^QUAD did not start a release from your message/);
    expect(out.reply?.text).toMatch(why);
    expect(out.reply?.text).not.toContain('http');
  });

  test('a subject changed after signing fails the signature', async () => {
    const { rec } = handlerFor('dkim');
    const cfg = parseConfig(CONFIG('dkim'), 'test config');
    const raw = (await buildMessage({ from: 'ana@example.com', subject: 'deploy v1.2.3 to production', dkim: example })).toString();
    const tampered = Buffer.from(raw.replace('Subject: deploy v1.2.3 to production', 'Subject: deploy v6.6.6 to production'));
    const out = await createInboundHandler({ releases: rec, config: cfg, resolver, log: () => undefined })(tampered, 'ana@example.com');
    expect(rec.starts).toEqual([]);
    expect(out.reply?.text).toMatch(/not proven to come from ana@example.com/);
  });

  test('no automatic reply to an auto-reply, a list or a bounce (empty MAIL FROM)', async () => {
    const { read } = handlerFor('dkim');
    const m = { from: 'ana@example.com', subject: 'hello', dkim: example };
    expect((await read({ ...m, headers: { 'Auto-Submitted': 'auto-replied' } })).reply).toBeUndefined();
    expect((await read({ ...m, headers: { Precedence: 'list' } })).reply).toBeUndefined();
    expect((await read(m, null)).reply).toBeUndefined();
    expect((await read(m)).reply).toBeDefined();
  });
});

describe('verify: secret', () => {
  test('the token in X-Quad-Token or the subject lets a sender start; a wrong or missing one does not, and is never quoted', async () => {
    const { rec, read } = handlerFor('secret');
    expect((await read({ from: 'bo@example.com', subject: 'deploy v1.2.3 to production', headers: { 'X-Quad-Token': SECRET } })).started).toBeDefined();
    const inSubject = await read({ from: 'bo@example.com', subject: `deploy search v1.2.4 token:${SECRET}`, messageId: '<s2@example.com>' });
    // bo is a starter of checkout only
    expect(inSubject.reply?.text).toMatch(/bo@example.com may not start search/);
    expect(inSubject.reply?.subject).not.toContain(SECRET);
    expect(inSubject.reply?.text).not.toContain(SECRET);
    for (const headers of [{ 'X-Quad-Token': 'wrong' }, {}] as Record<string, string>[]) {
      const out = await read({ from: 'ana@example.com', subject: 'deploy v1.2.5 to production', headers });
      expect(out.reply?.text).toMatch(/does not carry the right token/);
    }
    expect(rec.starts.map((s) => s.ask.version)).toEqual(['v1.2.3']);
  });
});

describe('over SMTP (a real smtp-server on 127.0.0.1)', () => {
  let inbound: InboundEmail;
  let sink: MailSink;
  let port: number;
  let cfg: QuadConfig;
  const rec = recorder();

  beforeAll(async () => {
    sink = await startMailSink();
    cfg = parseConfig(CONFIG('dkim').replace('    max_bytes: 4096', `    max_bytes: 4096\n    smtp: { host: 127.0.0.1, port: ${sink.port} }`), 'test config');
    inbound = createInboundEmail({ releases: rec, config: cfg, resolver, transport: replyTransport(cfg)!, log: () => undefined });
    ({ port } = await inbound.start());
  });
  afterAll(async () => {
    await inbound?.stop();
    await sink?.stop();
  });

  const envelope = { from: 'ana@example.com', to: ['releases@quad.test'] };

  test('an oversize message is refused with 552, a malformed one with 550, and the server stays up to start a release', async () => {
    const big = await buildMessage({ from: 'ana@example.com', subject: 'deploy v1.2.3 to production', text: 'x'.repeat(8000), dkim: example });
    await expect(sendRaw(port, big, envelope)).rejects.toMatchObject({ responseCode: 552 });
    const noMessageId = Buffer.from('From: ana@example.com\r\nTo: releases@quad.test\r\nSubject: deploy v1.2.3 to production\r\n\r\nhi\r\n');
    await expect(sendRaw(port, noMessageId, envelope)).rejects.toMatchObject({ responseCode: 550 });
    const twoFroms = Buffer.from('From: ana@example.com, bo@example.com\r\nMessage-ID: <x@y>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\nhi\r\n');
    await expect(sendRaw(port, twoFroms, envelope)).rejects.toMatchObject({ responseCode: 550 });
    await expect(sendRaw(port, Buffer.from('\u0000\u0001garbage'), envelope)).rejects.toMatchObject({ responseCode: 550 });
    expect(rec.starts).toEqual([]);

    const good = await buildMessage({ from: 'ana@example.com', subject: 'deploy v1.2.3 to production', dkim: example, messageId: '<smtp1@example.com>' });
    expect(await sendRaw(port, good, envelope)).toMatch(/^250 2\.0\.0 started release:checkout/);
    expect(rec.starts).toHaveLength(1);
    const [reply] = await eventually(
      async () => sink.received,
      (r) => r.length > 0,
      10_000,
    );
    expect(reply.subject).toBe('Re: deploy v1.2.3 to production');
    expect(reply.inReplyTo).toBe('<smtp1@example.com>');
    expect(reply.headers.get('auto-submitted')).toBe('auto-replied');
    expect(reply.from?.value[0].address).toBe('quad@quad.test');
    expect(reply.text).toContain('release%3Acheckout/run-1');
  });
});
