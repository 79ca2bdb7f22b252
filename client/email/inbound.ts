// The email trigger: an SMTP endpoint (smtp-server) that reads "deploy v1.2.3 to production" or
// "deploy checkout v1.2.3" from a message's subject (or its first body line) and starts that release
// through `Releases`, like the Jira webhook. Only configured senders are read, and only when the message
// proves it is theirs: a passing DKIM signature of the From domain that covers From, Subject, Date and
// Message-ID and the whole body (verify: dkim), or the shared secret (verify: secret). The sender must
// also be a starter of the service (`email:<address>`). A start is idempotent per Message-ID; a message
// older than a day, or from the future, is refused, so a replay starts nothing.
//   SMTP 552  over max_bytes            550 5.6.0  not a message we can read (no From, Date, Message-ID)
//   SMTP 250  read: the answer (the release's Web UI link, or why it was refused) goes back by email.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { dkimVerify, type DNSResolver } from 'mailauth';
import { createTransport, type Transporter } from 'nodemailer';
import type { EmailTriggerConfig, QuadConfig } from '../../config/schema';
import { InputError } from '../../config/errors';
import { serviceConfig } from '../../config/resolve';
import { mayStart } from '../../config/starters';
import { SAME_REQUEST_MS, type Releases, type Started } from '../releases';

/** A message dated further in the future than this is refused (clocks differ a little). */
const FUTURE_SKEW_MS = 5 * 60 * 1000;
/** What a reply quotes of what a person wrote, at most. */
const QUOTE_MAX = 80;
/** The headers a DKIM signature must cover: who, what, when, and which message (the request ID). */
const SIGNED_HEADERS = ['from', 'subject', 'date', 'message-id'];

export interface EmailCommand {
  service: string;
  version: string;
}

const SERVICE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
const GRAMMAR = '"deploy <version> to production" or "deploy <service> <version> [to production]"';

/**
 * The release a line asks for, by a strict grammar: `deploy <version> to production` (the trigger's
 * service) or `deploy <service> <version> [to production]`. Anything else is null.
 */
export function parseCommand(line: string, defaultService: string | undefined): EmailCommand | { error: string } | null {
  const words = line.trim().split(/\s+/);
  if (words[0]?.toLowerCase() !== 'deploy') return null;
  const toProduction = (i: number) => words.length === i + 2 && words[i].toLowerCase() === 'to' && words[i + 1].toLowerCase() === 'production';
  let service: string | undefined;
  let version: string;
  if (words.length === 4 && toProduction(2)) {
    version = words[1];
    service = defaultService;
    if (!service) return { error: 'which service? Write "deploy <service> <version>": the trigger has no default service' };
  } else if (words.length === 3 || (words.length === 5 && toProduction(3))) {
    service = words[1];
    version = words[2];
  } else return null;
  if (!SERVICE.test(service)) return { error: 'that is not a service name (lowercase letters, digits and -)' };
  if (!VERSION.test(version)) return { error: 'that is not a version (letters, digits and ._+-, like v1.2.3)' };
  return { service, version };
}

/** What a person wrote, fit to quote: control and format characters out, any token out, short. */
export function quote(text: string, secret?: string): string {
  // a token word is never shown back, right or wrong (a near miss is still most of the secret)
  let t = text.replace(/token:\S*/g, 'token:…');
  if (secret) t = t.split(secret).join('…');
  t = t.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ').trim();
  return JSON.stringify(t.length > QUOTE_MAX ? `${t.slice(0, QUOTE_MAX)}…` : t);
}

/** Equal secrets, compared in constant time (through hashes, so lengths do not tell either). */
function sameSecret(given: string, secret: string): boolean {
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(given), h(secret));
}

/** The one From address, lowercased, or null (none, several, or not an address). */
export function fromAddress(mail: ParsedMail): string | null {
  const list = mail.from?.value ?? [];
  if (list.length !== 1 || !list[0].address) return null;
  const a = list[0].address.toLowerCase();
  return /^[a-z0-9._%+-]{1,64}@[a-z0-9.-]{1,190}\.[a-z]{2,63}$/.test(a) ? a : null;
}

/** A requestedBy QUAD accepts (letters, digits and ._@-): the address, with anything else as -. */
export function personOf(address: string): string {
  return address.replace(/[^A-Za-z0-9._@-]+/g, '-').slice(0, 80);
}

/** A message's request ID: the hash of its sender and Message-ID, so a redelivery is the same request. */
export const messageRequestId = (from: string, messageId: string) =>
  `email:${createHash('sha256').update(`${from}\n${messageId.trim()}`).digest('hex').slice(0, 40)}`;

/**
 * Does a DKIM signature prove the message comes from `address`'s domain? It must pass, be made by that
 * domain or a parent of it (alignment), cover From, Subject, Date and Message-ID, and sign the whole body
 * (no l= tag: text appended after the signed part would be read as the command). The reason when not.
 */
export async function dkimProves(raw: Buffer, address: string, resolver?: DNSResolver): Promise<true | string> {
  const result = await dkimVerify(raw, resolver ? { resolver } : {});
  if (result.fromFields !== 1) return 'the message has more than one From header';
  const fromDomain = address.slice(address.lastIndexOf('@') + 1);
  const seen: string[] = [];
  for (const sig of result.results) {
    const d = sig.signingDomain?.toLowerCase();
    if (sig.status.result === 'none' && !d) continue; // mailauth's entry for "no signature"
    if (sig.status.result !== 'pass' || !d) {
      seen.push(`${sig.status.result}${d ? ` (d=${d})` : ''}`);
      continue;
    }
    if (d !== fromDomain && !fromDomain.endsWith(`.${d}`)) {
      seen.push(`pass by ${d}, which is not the From domain ${fromDomain}`);
      continue;
    }
    const signed = new Set((sig.signingHeaders?.keys ?? '').split(':').map((k) => k.trim().toLowerCase()));
    const missing = SIGNED_HEADERS.filter((h) => !signed.has(h));
    if (missing.length) {
      seen.push(`pass by ${d}, but it does not sign ${missing.join(', ')}`);
      continue;
    }
    if (sig.canonBodyLengthLimited) {
      seen.push(`pass by ${d}, but it signs only part of the body (l=)`);
      continue;
    }
    return true;
  }
  return seen.length ? `its DKIM signature does not prove it: ${seen.join('; ')}` : 'it has no DKIM signature';
}

/** What the receiver answers a message: the SMTP reply, and the email reply (if one is sent). */
export interface Outcome {
  smtp: { code: number; text: string };
  reply?: { to: string; subject: string; text: string; inReplyTo?: string };
  started?: Started;
}

export interface InboundEmailOptions {
  releases: Pick<Releases, 'release'>;
  config: QuadConfig;
  /** the shared secret's value (verify: secret); the config names only its env var */
  secret?: string;
  /** DKIM key lookups (tests answer with their own key); default DNS */
  resolver?: DNSResolver;
  /** where replies go out; without one, replies are only logged */
  transport?: Pick<Transporter, 'sendMail'>;
  log?: (line: string) => void;
  now?: () => number;
}

/** The secret's value from the env var triggers.email.secret names; errors name the variable, never a value. */
export function emailSecretFromEnv(cfg: QuadConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const email = emailConfig(cfg);
  if (email.verify !== 'secret') return undefined;
  const name = email.secret!.slice(2, -1);
  if (!env[name]) throw new InputError(`the email trigger's secret env var ${name} is not set`);
  return env[name];
}

/** Where replies go out: triggers.email.smtp, else providers.email; null when neither is configured. */
export function replyTransport(cfg: QuadConfig, env: NodeJS.ProcessEnv = process.env): Transporter | null {
  const smtp = emailConfig(cfg).smtp ?? cfg.providers.email;
  if (!smtp) return null;
  const passName = smtp.password?.slice(2, -1);
  if (passName && !env[passName]) throw new InputError(`the reply SMTP password env var ${passName} is not set`);
  return createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    ...(smtp.user ? { auth: { user: smtp.user, pass: passName ? env[passName]! : '' } } : {}),
    connectionTimeout: 5_000,
    greetingTimeout: 5_000,
    socketTimeout: 15_000,
    // nodemailer's own logger stays off: it could print the AUTH exchange
    logger: false,
  });
}

function emailConfig(cfg: QuadConfig): EmailTriggerConfig {
  const email = cfg.triggers?.email;
  if (!email) throw new InputError('triggers.email is not configured: add senders, verify and reply_from');
  return email;
}

/** Messages that must get no automatic answer (RFC 3834): auto-replies, lists and bounces. */
function noAutoReply(mail: ParsedMail, mailFrom: string | null, replyFrom: string, from: string | null): boolean {
  const auto = String(mail.headers.get('auto-submitted') ?? 'no').toLowerCase();
  const precedence = String(mail.headers.get('precedence') ?? '').toLowerCase();
  return auto !== 'no' || ['bulk', 'junk', 'list'].includes(precedence) || !mailFrom || from === replyFrom.toLowerCase();
}

/** Reads one message and decides: the handler smtp-server calls, apart from SMTP so it can be tested. */
export function createInboundHandler(o: InboundEmailOptions) {
  const email = emailConfig(o.config);
  if (email.verify === 'secret' && !o.secret) throw new InputError('triggers.email.verify is secret, but the secret is not set');
  const log = o.log ?? ((line: string) => console.error(line));
  const now = o.now ?? Date.now;
  const senders = new Set(email.senders.map((s) => s.toLowerCase()));
  const defaultService = email.service ?? (Object.keys(o.config.services).length === 1 ? Object.keys(o.config.services)[0] : undefined);

  return async function handle(raw: Buffer, mailFrom: string | null): Promise<Outcome> {
    let mail: ParsedMail;
    try {
      mail = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true });
    } catch {
      return { smtp: { code: 550, text: '5.6.0 the message could not be parsed' } };
    }
    const from = fromAddress(mail);
    const messageId = typeof mail.messageId === 'string' && mail.messageId.length <= 998 ? mail.messageId : null;
    if (!from) return { smtp: { code: 550, text: '5.6.0 the message needs one From address' } };
    if (!messageId) return { smtp: { code: 550, text: '5.6.0 the message needs a Message-ID' } };
    if (!mail.date || Number.isNaN(mail.date.getTime())) return { smtp: { code: 550, text: '5.6.0 the message needs a Date' } };

    const subject = mail.subject ?? '';
    const answer = (text: string, started?: Started): Outcome => {
      const reply = noAutoReply(mail, mailFrom, email.reply_from, from)
        ? undefined
        : { to: from, subject: `Re: ${quote(subject, o.secret).slice(1, -1)}`, text, inReplyTo: messageId };
      return { smtp: { code: 250, text: started ? `2.0.0 started ${started.workflowId}` : '2.0.0 read; the answer goes back by email' }, reply, started };
    };
    const refuse = (why: string) => {
      log(`quad email: ${messageRequestId(from, messageId)} from ${from} refused: ${why}`);
      return answer(`QUAD did not start a release from your message ${quote(subject, o.secret)}:\n${why}\n`);
    };

    if (!senders.has(from)) return refuse(`${from} is not a sender listed in triggers.email.senders`);
    if (email.verify === 'dkim') {
      const proof = await dkimProves(raw, from, o.resolver).catch((err: Error) => `its DKIM signature could not be checked (${err.message.slice(0, 200)})`);
      if (proof !== true) return refuse(`the message is not proven to come from ${from}: ${proof}`);
    } else {
      const header = mail.headers.get('x-quad-token');
      const word = subject
        .split(/\s+/)
        .find((w) => w.startsWith('token:'))
        ?.slice('token:'.length);
      const given = typeof header === 'string' ? header.trim() : word;
      if (!given || !sameSecret(given, o.secret!))
        return refuse('the message does not carry the right token (X-Quad-Token header, or token:<secret> in the subject)');
    }
    const age = now() - mail.date.getTime();
    if (age > SAME_REQUEST_MS) return refuse(`the message is dated ${Math.round(age / 3_600_000)} h ago; only messages of the last 24 h are acted on`);
    if (age < -FUTURE_SKEW_MS) return refuse('the message is dated in the future');

    // the subject first (without a token word), else the first line of the body that says something
    const subjectLine = subject
      .split(/\s+/)
      .filter((w) => !w.startsWith('token:'))
      .join(' ');
    const bodyLine = (mail.text ?? '').split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
    const parsed = parseCommand(subjectLine, defaultService) ?? parseCommand(bodyLine, defaultService);
    if (!parsed) return refuse(`the subject and the first line are not a command; write ${GRAMMAR}`);
    if ('error' in parsed) return refuse(parsed.error);

    try {
      serviceConfig(o.config, parsed.service); // an unknown service is named as such, before who may start it
      const may = await mayStart(o.config, parsed.service, { email: from });
      if (!may.allowed) return refuse(`${from} may not start ${parsed.service}: ${may.why} (add email:${from} to its starters)`);
      const started = await o.releases.release(
        { service: parsed.service, version: parsed.version, requestedBy: personOf(from), source: 'email', reason: `email from ${from}` },
        { requestId: messageRequestId(from, messageId) },
      );
      const what = `${parsed.service} ${parsed.version}`;
      log(`quad email: ${messageRequestId(from, messageId)} from ${from} ${started.again ? 'delivered again for' : 'started'} ${started.workflowId} (${what})`);
      return answer(
        started.again
          ? `Your message had already started ${what}: ${started.url}\n`
          : `QUAD started the release of ${what} for you.\nFollow it here: ${started.url}\n`,
        started,
      );
    } catch (err) {
      if (err instanceof InputError) return refuse(err.message.slice(0, 500));
      throw err;
    }
  };
}

export interface InboundEmail {
  server: SMTPServer;
  start(listen?: { port?: number; host?: string }): Promise<{ port: number }>;
  /** stops listening and waits for the replies still being sent */
  stop(): Promise<void>;
}

function smtpError(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

export function createInboundEmail(o: InboundEmailOptions): InboundEmail {
  const email = emailConfig(o.config);
  const handle = createInboundHandler(o);
  const log = o.log ?? ((line: string) => console.error(line));
  const sending = new Set<Promise<void>>();

  const sendReply = (reply: NonNullable<Outcome['reply']>) => {
    if (!o.transport) return log(`quad email: no reply transport; would have told ${reply.to}: ${reply.text.split('\n')[0]}`);
    const p = o.transport
      .sendMail({
        from: email.reply_from,
        to: reply.to,
        subject: reply.subject,
        text: reply.text,
        ...(reply.inReplyTo ? { inReplyTo: reply.inReplyTo, references: reply.inReplyTo } : {}),
        headers: { 'Auto-Submitted': 'auto-replied' },
      })
      .then(
        () => undefined,
        (err: Error) => log(`quad email: the reply to ${reply.to} could not be sent: ${err.message.slice(0, 300)}`),
      )
      .finally(() => sending.delete(p));
    sending.add(p);
  };

  const onData = (stream: SMTPServerDataStream, session: SMTPServerSession, done: (err?: Error | null, message?: string) => void) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= email.max_bytes) chunks.push(c);
    });
    stream.on('end', () => {
      if (stream.sizeExceeded || size > email.max_bytes) return done(smtpError(552, `5.3.4 the message is over ${email.max_bytes} bytes`));
      const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address || null : null;
      handle(Buffer.concat(chunks), mailFrom).then(
        (out) => {
          if (out.reply) sendReply(out.reply);
          if (out.smtp.code >= 400) return done(smtpError(out.smtp.code, out.smtp.text));
          done(null, out.smtp.text);
        },
        (err: Error) => {
          // Temporal unreachable and the like: a 4xx makes the sending server try again later
          log(`quad email: ${err?.stack ?? String(err)}`);
          done(smtpError(451, '4.3.0 could not act on the message now; try again later'));
        },
      );
    });
  };

  const server = new SMTPServer({
    name: 'quad',
    banner: 'QUAD release trigger',
    size: email.max_bytes,
    authOptional: true,
    // replies are the only mail QUAD sends, and not through here: no relay, no login; TLS ends at the MX in front
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    maxClients: 50,
    socketTimeout: 60_000,
    onRcptTo: (_address, session, done) => (session.envelope.rcptTo.length >= 10 ? done(smtpError(452, '4.5.3 too many recipients')) : done()),
    onData,
  });
  server.on('error', (err) => log(`quad email: SMTP: ${err.message}`));

  return {
    server,
    start: (listen = {}) =>
      new Promise((resolve, reject) => {
        server.server.once('error', reject);
        server.listen(listen.port ?? 0, listen.host ?? '127.0.0.1', () => resolve({ port: (server.server.address() as AddressInfo).port }));
      }),
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...sending]);
    },
  };
}
