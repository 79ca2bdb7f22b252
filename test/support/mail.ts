// Mail for the email trigger's tests: a real SMTP server that keeps what it is sent (the trigger's replies),
// a DKIM key of a test domain with the resolver that publishes it (what DNS would answer), and messages
// signed by nodemailer's own DKIM signer, sent to the trigger over SMTP.
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { createTransport } from 'nodemailer';
import type { DNSResolver } from 'mailauth';

export interface MailSink {
  port: number;
  received: ParsedMail[];
  stop(): Promise<void>;
}

/** An SMTP server on 127.0.0.1 that accepts every message and keeps it parsed. */
export async function startMailSink(): Promise<MailSink> {
  const received: ParsedMail[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onData(stream, _session, cb) {
      simpleParser(stream).then((mail) => {
        received.push(mail);
        cb();
      }, cb);
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.server.address() as AddressInfo).port,
    received,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export interface DkimKey {
  domain: string;
  selector: string;
  privateKey: string;
  /** the TXT record of <selector>._domainkey.<domain> */
  record: string;
}

export function dkimKey(domain: string, selector = 'quadtest'): DkimKey {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return { domain, selector, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), record: `v=DKIM1; k=rsa; p=${p}` };
}

/** DNS as the keys' domains publish it: their DKIM TXT records, and nothing else. */
export function resolverOf(...keys: DkimKey[]): DNSResolver {
  return async (name, rrtype) => {
    const key = keys.find((k) => name.toLowerCase() === `${k.selector}._domainkey.${k.domain}`);
    if (rrtype === 'TXT' && key) return [[key.record]];
    throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  };
}

export interface TestMessage {
  from: string;
  subject: string;
  text?: string;
  headers?: Record<string, string>;
  /** signed with this key (as its domain); unsigned without */
  dkim?: DkimKey;
  date?: Date;
  messageId?: string;
}

/** The message as nodemailer builds (and signs) it, raw. */
export async function buildMessage(m: TestMessage, to = 'releases@quad.test'): Promise<Buffer> {
  const transport = createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const info = await transport.sendMail({
    from: m.from,
    to,
    subject: m.subject,
    text: m.text ?? 'sent by a test\n',
    headers: m.headers,
    date: m.date,
    messageId: m.messageId,
    ...(m.dkim ? { dkim: { domainName: m.dkim.domain, keySelector: m.dkim.selector, privateKey: m.dkim.privateKey } } : {}),
  });
  return info.message as Buffer;
}

/** Sends a raw message to an SMTP server on 127.0.0.1; resolves with its answer, rejects with its refusal. */
export async function sendRaw(port: number, raw: Buffer, envelope: { from: string; to: string[] }): Promise<string> {
  const transport = createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, logger: false });
  try {
    const info = await transport.sendMail({ envelope, raw });
    return info.response;
  } finally {
    transport.close();
  }
}
