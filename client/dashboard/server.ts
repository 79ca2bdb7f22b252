// The dashboard's HTTP door (node:http): pages, the JSON they poll, the chart, and the forms. Everything
// but /login needs a session; every form needs the session's CSRF token. A bad request gets a 4xx and
// the server stays up: an unknown path 404, a wrong method 405, no session 401, a missing or wrong CSRF
// token (or a cross-site request) 403, a form that is not one 400, another body type 415, a body over
// 16 KiB 413, a URL over 2 KiB 414. Refusals (not allowed, not done) are shown on the page in words.
//   GET  /                          releases in progress and recent, and the Release form
//   GET  /releases/<id>             a release: status, stage, traffic, verdicts, timeline, chart, buttons
//   GET  /api/releases[/<id>]       the same as JSON, polled by the pages
//   GET  /releases/<id>/chart.svg   the timeline chart (client/report-chart.ts)
//   POST /releases                  start a release (service, version, strategy)
//   POST /releases/<id>/<command>   approve, reject, rollback, pause, resume, promote (stage: what the page showed)
//   GET  /login?token=…             the one-time token → a session cookie;  POST /logout
//   GET  /oidc/login, /oidc/callback  sign-in by OpenID Connect, when dashboard.oidc is configured
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { ReleaseStatus } from '../../contract/messages';
import { InputError } from '../../config/errors';
import { releaseChartSvg } from '../report-chart';
import { RELEASE_ID } from '../slack/approvers';
import { Sessions, csrfMatches, sessionCookie, clearedCookie, type Session } from './sessions';
import { DASHBOARD_COMMANDS, runCommand, startRelease, type DashboardCommand, type Outcome, type ReleaseSource } from './actions';
import { releaseView, stageText, type ReleaseRow } from './view';
import { listPage, releasePage, messagePage, signInPage, signedInPage, type PageContext } from './render';
import type { OidcSignIn } from './oidc';

export const MAX_BODY = 16 * 1024;
const MAX_URL = 2048;
/** How long the list waits for a running release's status before showing its search attributes. */
const STATUS_WAIT_MS = 3000;
/** How long a release's page waits for its status. */
const STATUS_PAGE_WAIT_MS = 15_000;

export interface DashboardOptions {
  releases: ReleaseSource;
  sessions?: Sessions;
  /** Secure cookies: set when the dashboard is served over HTTPS (behind a proxy) */
  secureCookies?: boolean;
  log?: (line: string) => void;
  /** how a chart is drawn (default client/report-chart.ts) */
  chart?: (s: ReleaseStatus) => Promise<string>;
  /** how many releases the list shows */
  listLimit?: number;
  /** sign-in by OpenID Connect (./oidc.ts), besides the one-time token */
  oidc?: OidcSignIn;
}

export interface Dashboard {
  sessions: Sessions;
  server: Server;
  start(listen?: { host?: string; port?: number }): Promise<{ port: number; url: string }>;
  stop(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** A control character (newline, NUL, DEL…): none belongs in a one-line form field. */
const hasControl = (v: string) => [...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T | null> =>
  Promise.race([p.catch(() => null), new Promise<null>((r) => setTimeout(() => r(null), ms).unref())]);

export function createDashboard(o: DashboardOptions): Dashboard {
  const src = o.releases;
  const sessions = o.sessions ?? new Sessions();
  const log = o.log ?? ((line: string) => console.error(line));
  const drawChart = o.chart ?? releaseChartSvg;
  // a finished release no longer changes: its row (and its status) are read once
  const finished = new Map<string, ReleaseRow>();
  const charts = new Map<string, Promise<string>>();

  const headers = (nonce: string, type: string) => ({
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // the login URL carries the token: it is never sent on as a Referer
    'referrer-policy': 'no-referrer',
    'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
  });
  const html = (res: ServerResponse, code: number, nonce: string, body: string, extra: Record<string, string> = {}) =>
    res.writeHead(code, { ...headers(nonce, 'text/html; charset=utf-8'), ...extra }).end(body);
  const json = (res: ServerResponse, code: number, doc: unknown) => res.writeHead(code, headers('-', 'application/json')).end(JSON.stringify(doc));
  const redirect = (res: ServerResponse, to: string, extra: Record<string, string> = {}) =>
    res.writeHead(303, { location: to, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', ...extra }).end();

  async function rows(): Promise<ReleaseRow[]> {
    const listed = await src.list({ limit: o.listLimit ?? 30 });
    // the status query answers for a workflow ID's newest run: an older run shows its search attributes
    const seen = new Set<string>();
    const isNewest = listed.map((wf) => {
      const first = !seen.has(wf.workflowId);
      seen.add(wf.workflowId);
      return first;
    });
    return Promise.all(
      listed.map(async (wf, i) => {
        const known = finished.get(wf.runId);
        if (known) return known;
        // (and a run started since the list was read is not this one: its version tells)
        const s = isNewest[i]
          ? await withTimeout(
              src.status(wf.workflowId).then((st) => (st.version === wf.version ? st : null)),
              STATUS_WAIT_MS,
            )
          : null;
        const row: ReleaseRow = {
          workflowId: wf.workflowId,
          service: s?.service ?? wf.service ?? '',
          version: s?.version ?? wf.version ?? '',
          strategy: s?.strategy ?? wf.strategy ?? '',
          status: s?.status ?? wf.status ?? '',
          stage: s ? stageText(s) : (wf.stage ?? ''),
          trafficPercent: s ? s.trafficPercent : null,
          verdict: s?.lastVerdict?.verdict ?? '',
          requestedBy: s?.requestedBy ?? '',
          startedAt: s?.startedAt ?? wf.startTime.getTime(),
        };
        for (const k of ['service', 'version', 'strategy', 'status', 'stage', 'verdict', 'requestedBy'] as const) row[k] = row[k].slice(0, 300);
        if ((s && s.status !== 'running') || (!isNewest[i] && wf.status && wf.status !== 'running')) finished.set(wf.runId, row);
        return row;
      }),
    );
  }

  const releaseIdOf = (segment: string): string => {
    let id: string;
    try {
      id = decodeURIComponent(segment);
    } catch {
      throw new HttpError(404, 'no such release');
    }
    if (!RELEASE_ID.test(id)) throw new HttpError(404, 'no such release');
    return id;
  };

  const statusOf = async (id: string): Promise<ReleaseStatus> => {
    let timer: NodeJS.Timeout | undefined;
    // a query needs a worker: without one it would wait on, so the page says so instead
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HttpError(503, `the status of ${id} could not be read in time; is a worker running?`)), STATUS_PAGE_WAIT_MS);
    });
    try {
      return await Promise.race([src.status(id), late]);
    } catch (err) {
      if (err instanceof InputError) throw new HttpError(404, `no release ${id} found`);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  };

  const chartOf = (id: string, s: ReleaseStatus): Promise<string> => {
    const key = `${id}:${s.startedAt}:${s.timeline.length}:${s.status}`;
    let svg = charts.get(key);
    if (!svg) {
      if (charts.size >= 20) charts.delete(charts.keys().next().value!);
      svg = drawChart(s);
      charts.set(key, svg);
      svg.catch(() => charts.delete(key));
    }
    return svg;
  };

  /** The form in a POST body: urlencoded, within MAX_BODY, only the expected fields, each once. */
  async function readForm(req: IncomingMessage, fields: readonly string[]): Promise<Record<string, string>> {
    const type = String(req.headers['content-type'] ?? '')
      .split(';')[0]
      .trim()
      .toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      req.resume();
      throw new HttpError(415, 'a form is posted as application/x-www-form-urlencoded');
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY) {
      req.resume();
      throw new HttpError(413, 'the form is too large');
    }
    const body = await new Promise<Buffer | null>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_BODY) chunks.push(c);
        else if (size > 16 * MAX_BODY) req.destroy();
      });
      req.on('end', () => resolve(size > MAX_BODY ? null : Buffer.concat(chunks)));
      req.on('error', reject);
    });
    if (body === null) throw new HttpError(413, 'the form is too large');
    const text = body.toString('utf8');
    const params = new URLSearchParams(text);
    const out: Record<string, string> = {};
    for (const [k, v] of params) {
      if (!fields.includes(k)) throw new HttpError(400, `the form has an unexpected field ${JSON.stringify(k.slice(0, 40))}`);
      if (Object.hasOwn(out, k)) throw new HttpError(400, `the form has ${JSON.stringify(k)} twice`);
      if (v.length > 500 || hasControl(v)) throw new HttpError(400, `the form's ${k} is not a short line of text`);
      out[k] = v;
    }
    return out;
  }

  const mustCsrf = (session: Session, form: Record<string, string>) => {
    if (!csrfMatches(session, form.csrf))
      throw new HttpError(403, 'the form is stale or not from this dashboard (CSRF token missing or wrong); reload the page');
  };

  const ctxOf = (session: Session, nonce: string): PageContext => {
    const flash = session.flash ?? null;
    session.flash = null;
    return { nonce, person: session.person, csrf: session.csrf, flash };
  };

  const services = () => Object.keys(src.config.services);

  /** An action's answer: on success back to the page (303) with the message; a refusal shown at once. */
  async function answerAction(res: ServerResponse, session: Session, nonce: string, outcome: Outcome, page: () => Promise<string>, okTo: string) {
    if (outcome.ok) {
      session.flash = { ok: true, message: outcome.message };
      redirect(res, okTo);
      return;
    }
    session.flash = { ok: false, message: outcome.message };
    html(res, outcome.refused ? 403 : 409, nonce, await page());
  }

  async function handle(req: IncomingMessage, res: ServerResponse, nonce: string) {
    if ((req.url ?? '').length > MAX_URL) throw new HttpError(414, 'the URL is too long');
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const parts = url.pathname.split('/').slice(1);
    const method = req.method ?? 'GET';
    const allow = (...methods: string[]) => {
      if (!methods.includes(method)) {
        req.resume();
        res.setHeader('allow', methods.join(', '));
        throw new HttpError(405, `${method} is not allowed here`);
      }
    };
    const isApi = parts[0] === 'api';

    if (url.pathname === '/login') {
      allow('GET');
      const token = url.searchParams.get('token') ?? '';
      const signedIn = sessions.exchange(token);
      if (!signedIn) throw new HttpError(401, 'that sign-in link is not valid (each one works once); ask for a new one');
      redirect(res, '/', { 'set-cookie': sessionCookie(signedIn.id, o.secureCookies ?? false) });
      return;
    }
    if (o.oidc && url.pathname === '/oidc/login') {
      allow('GET');
      const { location, cookie } = await o.oidc.begin();
      redirect(res, location, { 'set-cookie': cookie });
      return;
    }
    if (o.oidc && url.pathname === '/oidc/callback') {
      allow('GET');
      let person: string;
      try {
        person = await o.oidc.finish(url, req.headers.cookie);
      } catch (err) {
        if (err instanceof InputError) throw new HttpError(401, `not signed in: ${err.message}`);
        throw err;
      }
      const { id } = sessions.open(person);
      html(res, 200, nonce, signedInPage(nonce, person), { 'set-cookie': sessionCookie(id, o.secureCookies ?? false) });
      return;
    }
    // a known path, asked without a session, is told to sign in; an unknown one is a 404 either way
    const known =
      url.pathname === '/' ||
      url.pathname === '/logout' ||
      url.pathname === '/releases' ||
      url.pathname === '/api/releases' ||
      (parts[0] === 'releases' && parts.length === 2) ||
      (parts[0] === 'releases' && parts.length === 3 && (parts[2] === 'chart.svg' || (DASHBOARD_COMMANDS as readonly string[]).includes(parts[2]))) ||
      (isApi && parts[1] === 'releases' && parts.length === 3);
    if (!known) throw new HttpError(404, 'no such page');
    // a request another site made the browser send is refused, whatever it carries
    if (req.headers['sec-fetch-site'] === 'cross-site' && method !== 'GET') throw new HttpError(403, 'a cross-site request');
    const session = sessions.fromCookie(req.headers.cookie);
    if (!session) {
      req.resume();
      if (isApi || method !== 'GET') throw new HttpError(401, 'sign in first');
      html(res, 401, nonce, signInPage(nonce, o.oidc?.issuer));
      return;
    }

    if (url.pathname === '/') {
      allow('GET');
      html(res, 200, nonce, listPage(ctxOf(session, nonce), await rows(), services()));
      return;
    }
    if (url.pathname === '/api/releases') {
      allow('GET');
      json(res, 200, { releases: await rows() });
      return;
    }
    if (url.pathname === '/logout') {
      allow('POST');
      mustCsrf(session, await readForm(req, ['csrf']));
      sessions.end(req.headers.cookie);
      redirect(res, '/', { 'set-cookie': clearedCookie });
      return;
    }
    if (url.pathname === '/releases') {
      allow('POST');
      const form = await readForm(req, ['csrf', 'service', 'version', 'strategy']);
      mustCsrf(session, form);
      if (!form.service || !form.version) throw new HttpError(400, 'a release needs a service and a version');
      const outcome = await startRelease(src, session.person, {
        service: form.service,
        version: form.version,
        ...(form.strategy ? { strategy: form.strategy } : {}),
      });
      const to = outcome.ok ? `/releases/${encodeURIComponent(outcome.workflowId!)}` : '/';
      await answerAction(res, session, nonce, outcome, async () => listPage(ctxOf(session, nonce), await rows(), services()), to);
      return;
    }
    if (isApi) {
      allow('GET');
      const id = releaseIdOf(parts[2]);
      json(res, 200, releaseView(id, await statusOf(id)));
      return;
    }
    const id = releaseIdOf(parts[1]);
    if (parts.length === 2) {
      allow('GET');
      html(res, 200, nonce, releasePage(ctxOf(session, nonce), releaseView(id, await statusOf(id))));
      return;
    }
    if (parts[2] === 'chart.svg') {
      allow('GET');
      const svg = await chartOf(id, await statusOf(id));
      res.writeHead(200, { ...headers(nonce, 'image/svg+xml'), 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" }).end(svg);
      return;
    }
    allow('POST');
    const form = await readForm(req, ['csrf', 'stage']);
    mustCsrf(session, form);
    if (!form.stage) throw new HttpError(400, 'the form does not say which stage the page showed');
    const outcome = await runCommand(src, id, parts[2] as DashboardCommand, session.person, form.stage);
    const to = `/releases/${encodeURIComponent(id)}`;
    await answerAction(res, session, nonce, outcome, async () => releasePage(ctxOf(session, nonce), releaseView(id, await statusOf(id))), to);
  }

  const server = createServer((req, res) => {
    const nonce = randomBytes(16).toString('base64');
    handle(req, res, nonce).catch((err) => {
      if (res.headersSent) return void res.end();
      if (err instanceof HttpError) {
        if ((req.url ?? '').startsWith('/api/')) json(res, err.code, { error: err.message });
        else html(res, err.code, nonce, messagePage(nonce, `${err.code}`, err.message));
        return;
      }
      log(`quad dashboard: ${req.method} ${(req.url ?? '').split('?')[0].slice(0, 200)}: ${(err as Error)?.stack ?? String(err)}`);
      html(res, 500, nonce, messagePage(nonce, 'Something went wrong', 'Something went wrong on our side; try again in a minute.'));
    });
  });
  // a client that never finishes its request does not hold a socket for long
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  return {
    sessions,
    server,
    start(listen = {}) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(listen.port ?? 0, listen.host ?? '127.0.0.1', () => {
          const { port, address } = server.address() as AddressInfo;
          const host = address.includes(':') ? `[${address}]` : address;
          resolve({ port, url: `http://${host}:${port}` });
        });
      });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
