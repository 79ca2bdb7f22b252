// Email notices over SMTP (nodemailer): release notices to stakeholders, and a friendlier notice to
// customers when a release succeeds. The SMTP password is read from the env var `passwordEnv` names, at
// send time; it never appears in options, errors or logs. notify() fails fast (bounded connection,
// greeting and socket timeouts): retries belong to the workflow's activity retry policy, not to us.
import { createTransport } from 'nodemailer';
import type { Notice, NoticeKind, Notifier } from '../types';
import { FailureType, configurationError, missingSecret, nonRetryableFailure, redact, transientFailure } from '../../failures';

export interface EmailTemplate {
  /** one line; `${service}`, `${version}`, `${stage}`, `${text}`, `${detail}`, `${url}`, `${requestedBy}`,
   *  `${strategy}`, `${kind}`, `${releaseId}`, `${trafficPercent}` are filled in, absent values as "" */
  subject: string;
  /** plain-text body, same placeholders */
  text: string;
}

/** Recipients: one list for every kind that has a template, or per kind (`all` = every templated kind). */
export type EmailRecipients = string[] | Partial<Record<NoticeKind | 'all', string[]>>;

export interface EmailNotifierOptions {
  host: string;
  port: number;
  /** implicit TLS (port 465); otherwise STARTTLS when the server offers it */
  secure?: boolean;
  /** refuse to send unless the connection is upgraded to TLS */
  requireTLS?: boolean;
  user?: string;
  /** name of the env var that holds the SMTP password (never the password itself) */
  passwordEnv?: string;
  from: string;
  to: EmailRecipients;
  /** get only `succeeded`, with the customer template, each as Bcc so no one sees the others */
  customers?: string[];
  /** overrides and additions to the default templates (started, succeeded, rolled_back) */
  templates?: Partial<Record<NoticeKind, EmailTemplate>>;
  customerTemplate?: EmailTemplate;
  /** ms; defaults 5000 / 5000 / 15000 */
  timeouts?: { connectionMs?: number; greetingMs?: number; socketMs?: number };
}

export const DEFAULT_TEMPLATES: Partial<Record<NoticeKind, EmailTemplate>> = {
  started: {
    subject: '[release] ${service} ${version} started by ${requestedBy}',
    text: 'Release ${version} of ${service} has started (${strategy}), requested by ${requestedBy}.\n\n${text}\n\nFollow it: ${url}\n',
  },
  succeeded: {
    subject: '[release] ${service} ${version} is live',
    text: 'Release ${version} of ${service} finished and serves all traffic.\n\n${text}\n${detail}\n\nRelease: ${url}\n',
  },
  rolled_back: {
    subject: '[release] ${service} ${version} was rolled back',
    text: 'Release ${version} of ${service} was rolled back at ${stage}.\n\n${text}\n\nWhy: ${detail}\n\nRelease: ${url}\n',
  },
};

/** For kinds someone asked for explicitly but that have no template of their own. */
export const GENERIC_TEMPLATE: EmailTemplate = {
  subject: '[release] ${service} ${version}: ${kind}',
  text: '${text}\n\n${detail}\n\nStage: ${stage}\nRelease: ${url}\n',
};

export const DEFAULT_CUSTOMER_TEMPLATE: EmailTemplate = {
  subject: '${service} has been updated',
  text:
    'Hello,\n\nWe have just released an update to ${service}. There is nothing you need to do: ' +
    'it is already live for you.\n\nThank you for using ${service}.\n',
};

const PLACEHOLDERS = ['service', 'version', 'stage', 'text', 'detail', 'url', 'requestedBy', 'strategy', 'kind', 'releaseId', 'trafficPercent'] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];

function checkTemplate(where: string, t: EmailTemplate): void {
  for (const part of [t.subject, t.text]) {
    for (const m of part.matchAll(/\$\{(\w+)\}/g)) {
      if (!(PLACEHOLDERS as readonly string[]).includes(m[1])) {
        throw new Error(`email template ${where}: unknown placeholder \${${m[1]}} (known: ${PLACEHOLDERS.join(', ')})`);
      }
    }
  }
}

/** Fills a template from a notice; missing values become "", and the subject stays one line. */
export function renderTemplate(t: EmailTemplate, notice: Notice): { subject: string; text: string } {
  const values: Record<Placeholder, string> = {
    service: notice.service,
    version: notice.version,
    stage: notice.stage ?? '',
    text: notice.text,
    // the incident a rollback opened (its log signatures and hint) reads as part of the detail
    detail: [notice.detail, notice.incident ? `Incident: ${notice.incident}` : undefined].filter(Boolean).join('\n'),
    url: notice.url ?? '',
    requestedBy: notice.requestedBy,
    strategy: notice.strategy,
    kind: notice.kind.replace(/_/g, ' '),
    releaseId: notice.releaseId,
    trafficPercent: notice.trafficPercent === undefined ? '' : String(notice.trafficPercent),
  };
  const fill = (s: string) => s.replace(/\$\{(\w+)\}/g, (_m, k: string) => values[k as Placeholder] ?? '');
  return {
    subject: fill(t.subject)
      .replace(/[\r\n]+/g, ' ')
      .replace(/\s{2,}/g, ' ')
      .trim(),
    text: fill(t.text),
  };
}

export class EmailNotifier implements Notifier {
  readonly name = 'email';
  private readonly templates: Partial<Record<NoticeKind, EmailTemplate>>;
  private readonly customerTemplate: EmailTemplate;

  constructor(private readonly options: EmailNotifierOptions) {
    this.templates = { ...DEFAULT_TEMPLATES, ...options.templates };
    this.customerTemplate = options.customerTemplate ?? DEFAULT_CUSTOMER_TEMPLATE;
    // Template mistakes are config errors: surface them when the worker starts, not mid-release.
    for (const [kind, t] of Object.entries(this.templates)) checkTemplate(kind, t!);
    checkTemplate('customers', this.customerTemplate);
  }

  /** Who gets a stakeholder notice of this kind (deduplicated); empty = no mail. */
  recipientsFor(kind: NoticeKind): string[] {
    const to = this.options.to;
    const templated = kind in this.templates;
    const list = Array.isArray(to) ? (templated ? to : []) : [...(templated ? (to.all ?? []) : []), ...(to[kind] ?? [])];
    return [...new Set(list)];
  }

  async notify(notice: Notice): Promise<void> {
    const stakeholders = this.recipientsFor(notice.kind);
    const customers = notice.kind === 'succeeded' ? [...new Set(this.options.customers ?? [])] : [];
    if (stakeholders.length === 0 && customers.length === 0) return;

    const transport = this.transport();
    try {
      if (stakeholders.length > 0) {
        const body = renderTemplate(this.templates[notice.kind] ?? GENERIC_TEMPLATE, notice);
        await this.send(transport, notice, 'stakeholder', { to: stakeholders, ...body });
      }
      if (customers.length > 0) {
        const body = renderTemplate(this.customerTemplate, notice);
        await this.send(transport, notice, 'customer', { bcc: customers, ...body });
      }
    } finally {
      transport.close();
    }
  }

  private transport() {
    const o = this.options;
    let auth: { user: string; pass: string } | undefined;
    if (o.user) {
      const pass = o.passwordEnv ? process.env[o.passwordEnv] : undefined;
      if (o.passwordEnv && !pass) throw missingSecret('email', o.passwordEnv, 'providers.email.password');
      auth = { user: o.user, pass: pass ?? '' };
    }
    return createTransport({
      host: o.host,
      port: o.port,
      secure: o.secure ?? false,
      requireTLS: o.requireTLS,
      auth,
      connectionTimeout: o.timeouts?.connectionMs ?? 5_000,
      greetingTimeout: o.timeouts?.greetingMs ?? 5_000,
      socketTimeout: o.timeouts?.socketMs ?? 15_000,
      // nodemailer's own logger stays off: it could print the AUTH exchange
      logger: false,
      debug: false,
    });
  }

  private async send(
    transport: ReturnType<typeof createTransport>,
    notice: Notice,
    audience: 'stakeholder' | 'customer',
    msg: { to?: string[]; bcc?: string[]; subject: string; text: string },
  ): Promise<void> {
    const count = (msg.to ?? msg.bcc ?? []).length;
    try {
      await transport.sendMail({
        from: this.options.from,
        ...msg,
        // lets a mail filter (or a person) spot a retried duplicate of the same notice
        headers: { 'X-Quad-Release': notice.releaseId, 'X-Quad-Notice': `${notice.kind}/${notice.at}` },
      });
    } catch (err) {
      const e = err as Error & { code?: string; responseCode?: number };
      const code = [e.code, e.responseCode].filter((x) => x !== undefined).join(' ');
      const pass = this.options.passwordEnv ? process.env[this.options.passwordEnv] : undefined;
      const message =
        `email ${audience} notice '${notice.kind}' for ${notice.service} ${notice.version} to ${count} recipient(s) ` +
        `via ${this.options.host}:${this.options.port} failed${code ? ` (${code})` : ''}: ${redact(e.message, [pass])}`;
      const details = { system: 'email', ...(e.code ? { code: e.code } : {}), ...(e.responseCode ? { status: e.responseCode } : {}) };
      // SMTP: 530/534/535 = authentication; other 5xx = refused for good (a recipient, the sender); 4xx and no answer = try later
      if (e.code === 'EAUTH' || [530, 534, 535].includes(e.responseCode ?? 0)) {
        throw configurationError(
          `${message}: the SMTP server refused the login: check providers.email.user and the password in ` +
            `${this.options.passwordEnv ? `env var ${this.options.passwordEnv}` : 'providers.email.password (none is set)'}`,
          details,
        );
      }
      if (e.code === 'ETLS') throw configurationError(`${message}: TLS with the SMTP server failed: check providers.email.host, port and secure`, details);
      if ((e.responseCode ?? 0) >= 500) {
        throw nonRetryableFailure(FailureType.Rejected, `${message}: the SMTP server refused it: check providers.email.from and the recipients`, details);
      }
      throw transientFailure(message, details);
    }
  }
}
