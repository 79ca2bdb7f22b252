// EmailNotifier against a real in-process SMTP server (smtp-server) on 127.0.0.1: every message goes
// over SMTP with AUTH, is received, and parsed with mailparser. Failure paths: a server that refuses,
// no server at all, and one that accepts the TCP connection but never greets.
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail, type AddressObject } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { ApplicationFailure } from '@temporalio/activity';
import type { Notice } from '../types';
import { EmailNotifier, renderTemplate, DEFAULT_TEMPLATES, type EmailNotifierOptions } from './email';

interface Received {
  envelopeFrom: string;
  envelopeTo: string[];
  user?: string;
  mail: ParsedMail;
}

const PASSWORD_ENV = 'QUAD_TEST_SMTP_PASSWORD';
const PASSWORD = 'pw-7f3a-not-for-logs';

/** A real SMTP server that requires AUTH and keeps every message it accepts. */
async function startSmtp(extra: Partial<SMTPServerOptions> = {}) {
  const received: Received[] = [];
  let connections = 0;
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'], // plain SMTP on loopback; TLS is nodemailer's and Node's business
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    onConnect(_session, cb) {
      connections++;
      cb();
    },
    onAuth(auth, _session, cb) {
      if (auth.username === 'quad' && auth.password === PASSWORD) return cb(null, { user: auth.username });
      return cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      simpleParser(stream).then((mail) => {
        received.push({
          envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          envelopeTo: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          mail,
        });
        cb();
      }, cb);
    },
    logger: false,
    ...extra,
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    received,
    connections: () => connections,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const notice = (over: Partial<Notice> = {}): Notice => ({
  kind: 'started',
  releaseId: 'release:checkout',
  service: 'checkout',
  version: 'v1.2.3',
  strategy: 'canary',
  requestedBy: '@ana',
  text: 'Canary 5 % → 25 % → 100 %, 10 min soak each.',
  at: Date.UTC(2026, 5, 1, 9, 30),
  url: 'http://localhost:8233/namespaces/default/workflows/release:checkout',
  ...over,
});

const addresses = (a: AddressObject | AddressObject[] | undefined) => (Array.isArray(a) ? a : a ? [a] : []).flatMap((x) => x.value.map((v) => v.address));

describe('EmailNotifier over SMTP', () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  beforeAll(async () => {
    process.env[PASSWORD_ENV] = PASSWORD;
    smtp = await startSmtp();
  });
  afterAll(async () => {
    delete process.env[PASSWORD_ENV];
    await smtp?.close();
  });
  beforeEach(() => {
    smtp.received.length = 0;
  });

  const options = (over: Partial<EmailNotifierOptions> = {}): EmailNotifierOptions => ({
    host: '127.0.0.1',
    port: smtp.port,
    user: 'quad',
    passwordEnv: PASSWORD_ENV,
    from: 'Release bot <quad@example.com>',
    to: ['ops@example.com', 'pm@example.com'],
    customers: ['c1@customer.test', 'c2@customer.test'],
    ...over,
  });

  test('started, rolled_back and succeeded reach the stakeholders with the default templates, over AUTH', async () => {
    const n = new EmailNotifier(options({ customers: [] }));
    await n.notify(notice());
    await n.notify(notice({ kind: 'rolled_back', stage: 'canary 25 %', detail: 'error rate 4.1 % > 1 % for 3 polls' }));
    await n.notify(notice({ kind: 'succeeded', text: 'All stages passed.', detail: 'p95 212 ms vs 205 ms' }));
    // a plain list covers the templated kinds only: no mail per stage or poll
    await n.notify(notice({ kind: 'stage_started', stage: 'canary 5 %' }));
    expect(n.recipientsFor('stage_started')).toEqual([]);

    expect(smtp.received).toHaveLength(3);
    for (const r of smtp.received) {
      expect(r.user).toBe('quad');
      expect(r.envelopeFrom).toBe('quad@example.com');
      expect(r.envelopeTo).toEqual(['ops@example.com', 'pm@example.com']);
      expect(addresses(r.mail.to)).toEqual(['ops@example.com', 'pm@example.com']);
      expect(r.mail.from?.value[0]).toEqual({ address: 'quad@example.com', name: 'Release bot' });
      expect(r.mail.headers.get('x-quad-release')).toBe('release:checkout');
    }
    const [started, rolledBack, succeeded] = smtp.received.map((r) => r.mail);
    expect(started.subject).toBe('[release] checkout v1.2.3 started by @ana');
    expect(started.text).toContain('Canary 5 % → 25 % → 100 %, 10 min soak each.'); // UTF-8 intact
    expect(started.text).toContain('Follow it: http://localhost:8233/namespaces/default/workflows/release:checkout');
    expect(rolledBack.subject).toBe('[release] checkout v1.2.3 was rolled back');
    expect(rolledBack.text).toContain('rolled back at canary 25 %.');
    expect(rolledBack.text).toContain('Why: error rate 4.1 % > 1 % for 3 polls');
    expect(succeeded.subject).toBe('[release] checkout v1.2.3 is live');
    expect(succeeded.text).toContain('p95 212 ms vs 205 ms');
    expect(smtp.received[2].mail.headers.get('x-quad-notice')).toBe(`succeeded/${notice().at}`);
  });

  test('succeeded also sends the customer notice: friendly text, no internals, customers in Bcc only', async () => {
    await new EmailNotifier(options()).notify(notice({ kind: 'succeeded', detail: 'p95 212 ms; error rate 0.02 %' }));
    expect(smtp.received).toHaveLength(2);
    const customer = smtp.received.find((r) => r.envelopeTo.includes('c1@customer.test'))!;
    expect(customer.envelopeTo).toEqual(['c1@customer.test', 'c2@customer.test']);
    expect(customer.mail.subject).toBe('checkout has been updated');
    expect(customer.mail.text).toContain('We have just released an update to checkout.');
    // nothing a customer should not see: no internal numbers, links or people, no other customer
    for (const leak of ['p95', 'release:checkout', '@ana', 'localhost:8233', 'ops@example.com']) {
      expect(customer.mail.text).not.toContain(leak);
    }
    expect(customer.mail.to).toBeUndefined();
    expect(customer.mail.headers.get('bcc')).toBeUndefined();
    const stakeholder = smtp.received.find((r) => r.envelopeTo.includes('ops@example.com'))!;
    expect(stakeholder.envelopeTo).not.toContain('c1@customer.test');
  });

  test('customers get nothing but succeeded; kinds without recipients open no connection at all', async () => {
    const n = new EmailNotifier(options({ to: { rolled_back: ['oncall@example.com'] } }));
    const before = smtp.connections();
    await n.notify(notice({ kind: 'started' }));
    await n.notify(notice({ kind: 'stage_passed', stage: 'canary 5 %' }));
    await n.notify(notice({ kind: 'breach' }));
    expect(smtp.connections()).toBe(before);
    expect(smtp.received).toHaveLength(0);
    await n.notify(notice({ kind: 'rolled_back', detail: 'p95 900 ms > 500 ms' }));
    expect(smtp.received.map((r) => r.envelopeTo)).toEqual([['oncall@example.com']]);
  });

  test('per-kind recipients, `all`, custom templates and the generic template for an untemplated kind', async () => {
    const n = new EmailNotifier(
      options({
        customers: [],
        to: { all: ['team@example.com'], breach: ['oncall@example.com'], succeeded: ['ceo@example.com', 'team@example.com'] },
        templates: {
          started: { subject: '${service}@${version} → ${stage} (${trafficPercent} %)', text: '${requestedBy} asked.\n${text}' },
        },
      }),
    );
    expect(n.recipientsFor('started')).toEqual(['team@example.com']);
    expect(n.recipientsFor('succeeded')).toEqual(['team@example.com', 'ceo@example.com']);
    expect(n.recipientsFor('breach')).toEqual(['oncall@example.com']); // no template: `all` does not cover it
    expect(n.recipientsFor('stage_started')).toEqual([]);

    await n.notify(notice({ kind: 'started', stage: 'canary 5 %', trafficPercent: 5 }));
    await n.notify(notice({ kind: 'breach', stage: 'canary 25 %', detail: 'error rate 3 % > 1 %', text: 'Breach on canary.' }));
    const [started, breach] = smtp.received;
    expect(started.mail.subject).toBe('checkout@v1.2.3 → canary 5 % (5 %)');
    expect(started.mail.text?.trim()).toBe('@ana asked.\nCanary 5 % → 25 % → 100 %, 10 min soak each.');
    expect(breach.envelopeTo).toEqual(['oncall@example.com']);
    expect(breach.mail.subject).toBe('[release] checkout v1.2.3: breach');
    expect(breach.mail.text).toContain('error rate 3 % > 1 %');
    expect(breach.mail.text).toContain('Stage: canary 25 %');
  });

  // nodemailer encodes header values too; the notifier also flattens the subject, so either layer holds
  test('a newline in a value cannot add a header: the subject stays one line', async () => {
    await new EmailNotifier(options({ customers: [] })).notify(notice({ requestedBy: '@mallory\r\nBcc: victim@example.com' }));
    const r = smtp.received[0];
    expect(r.envelopeTo).toEqual(['ops@example.com', 'pm@example.com']);
    expect(r.mail.subject).toBe('[release] checkout v1.2.3 started by @mallory Bcc: victim@example.com');
    expect(r.mail.headers.get('bcc')).toBeUndefined();
  });

  test('a wrong password or a missing password env var is a non-retryable ConfigurationError, without the password in it', async () => {
    process.env.QUAD_TEST_SMTP_WRONG = 'wrong-pw-123';
    const e1 = await new EmailNotifier(options({ passwordEnv: 'QUAD_TEST_SMTP_WRONG' })).notify(notice()).catch((e: Error) => e);
    expect(e1).toBeInstanceOf(ApplicationFailure);
    expect(e1).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, details: [{ system: 'email', code: 'EAUTH', status: 535 }] });
    expect((e1 as Error).message).toMatch(
      /^email stakeholder notice 'started' for checkout v1\.2\.3 to 2 recipient\(s\) via 127\.0\.0\.1:\d+ failed \(EAUTH 535\)/,
    );
    expect((e1 as Error).message).toMatch(/the SMTP server refused the login: check providers\.email\.user and the password in env var QUAD_TEST_SMTP_WRONG$/);
    expect(JSON.stringify({ m: (e1 as Error).message, s: (e1 as Error).stack })).not.toContain('wrong-pw-123');
    delete process.env.QUAD_TEST_SMTP_WRONG;
    const e2 = await new EmailNotifier(options({ passwordEnv: 'QUAD_TEST_SMTP_UNSET' })).notify(notice()).catch((e: unknown) => e);
    expect(e2).toMatchObject({
      type: 'ConfigurationError',
      nonRetryable: true,
      message:
        'email: the env var QUAD_TEST_SMTP_UNSET (named by providers.email.password) is not set on the worker: set it where the worker runs, then retry the release',
    });
    expect(smtp.received).toHaveLength(0);
  });

  test('an unknown placeholder in a template is a config error at construction', () => {
    expect(() => new EmailNotifier(options({ templates: { started: { subject: '${servise}', text: '' } } }))).toThrow(
      /email template started: unknown placeholder \$\{servise\}/,
    );
    expect(() => new EmailNotifier(options({ customerTemplate: { subject: 'ok', text: '${detial}' } }))).toThrow(
      /email template customers: unknown placeholder/,
    );
    // every default template only uses known placeholders and renders without leftovers
    for (const t of Object.values(DEFAULT_TEMPLATES)) {
      const r = renderTemplate(t!, notice({ stage: 's', detail: 'd' }));
      expect(`${r.subject}${r.text}`).not.toMatch(/\$\{/);
    }
  });
});

describe('EmailNotifier when SMTP is unavailable: rejects quickly, never hangs', () => {
  const base = (port: number, over: Partial<EmailNotifierOptions> = {}): EmailNotifierOptions => ({
    host: '127.0.0.1',
    port,
    from: 'quad@example.com',
    to: ['ops@example.com'],
    ...over,
  });
  const timed = async (p: Promise<unknown>) => {
    const t0 = Date.now();
    const err = await p.then(
      () => null,
      (e: Error) => e,
    );
    return { err, ms: Date.now() - t0 };
  };

  test('a server that refuses the connection (554 greeting)', async () => {
    const smtp = await startSmtp({
      onConnect(_s, cb) {
        cb(new Error('No mail from you today'));
      },
    });
    try {
      const { err, ms } = await timed(new EmailNotifier(base(smtp.port)).notify(notice()));
      expect(err?.message).toMatch(
        /^email stakeholder notice 'started' for checkout v1\.2\.3 to 1 recipient\(s\) via 127\.0\.0\.1:\d+ failed .*No mail from you today/,
      );
      expect(ms).toBeLessThan(2000);
      expect(smtp.received).toHaveLength(0);
    } finally {
      await smtp.close();
    }
  });

  test('a server that rejects the recipient', async () => {
    const smtp = await startSmtp({
      authOptional: true,
      onRcptTo(_a, _s, cb) {
        cb(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));
      },
    });
    try {
      const { err } = await timed(new EmailNotifier(base(smtp.port)).notify(notice()));
      expect(err?.message).toMatch(/failed \(EENVELOPE 550\): .*Mailbox unavailable/);
      expect(err).toMatchObject({ type: 'RequestRejected', nonRetryable: true }); // refused for good: check the recipients
    } finally {
      await smtp.close();
    }
  });

  test('no server on the port (connection refused)', async () => {
    const tcp = createTcpServer();
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const port = (tcp.address() as AddressInfo).port;
    await new Promise<void>((r) => tcp.close(() => r())); // now nothing listens there
    const { err, ms } = await timed(new EmailNotifier(base(port)).notify(notice()));
    expect(err?.message).toMatch(/failed \(ESOCKET\): connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    expect(err).toMatchObject({ type: 'TransientError', nonRetryable: false }); // the server may come back
    expect(ms).toBeLessThan(2000);
  });

  test('a server that accepts TCP but never greets: the greeting timeout ends it', async () => {
    const sockets: Socket[] = [];
    const silent: TcpServer = createTcpServer((s) => {
      sockets.push(s);
    }); // accepts, says nothing
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    try {
      const { err, ms } = await timed(new EmailNotifier(base(port, { timeouts: { greetingMs: 700 } })).notify(notice()));
      expect(err?.message).toMatch(/failed \(ETIMEDOUT\).*Greeting never received/);
      expect(err).toMatchObject({ type: 'TransientError', nonRetryable: false });
      expect(ms).toBeGreaterThanOrEqual(600);
      expect(ms).toBeLessThan(3000);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
