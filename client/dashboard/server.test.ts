// The dashboard's HTTP door on 127.0.0.1: a 4xx for every bad request (and still up after them), the
// sign-in token working once, the CSRF token and who may act checked before anything reaches Releases,
// and what people typed shown escaped. The releases behind it are a recording stand-in for Releases: a
// real release cannot carry `<script>` in its version or requester (config/resolve.ts refuses them), so
// only a stand-in can show that the pages escape them anyway. The workflow's side is dashboard.test.ts.
import { configSchema } from '../../config/schema';
import { resolveRelease, type ReleaseAsk } from '../../config/resolve';
import { InputError } from '../../config/errors';
import type { Command, ReleaseStatus } from '../../contract/messages';
import { createDashboard, MAX_BODY, type Dashboard } from './server';
import type { ReleaseSource } from './actions';

const EVIL_VERSION = '<script>alert(1)</script>';
const EVIL_BY = '<img src=x onerror=alert(2)>';
const config = configSchema.parse({
  release_managers: [],
  services: { checkout: { approvers: ['ana'], starters: ['ana'] } },
});

const status: ReleaseStatus = {
  service: 'checkout',
  version: EVIL_VERSION,
  previousVersion: 'v1.2.2',
  strategy: 'canary',
  requestedBy: EVIL_BY,
  startedAt: Date.UTC(2026, 0, 1),
  phase: 'awaiting_approval',
  status: 'running',
  stageIndex: 1,
  stageCount: 2,
  stage: 'full rollout 100 %',
  trafficPercent: 25,
  windowEndsAt: null,
  lastVerdict: { verdict: 'PASS', explanation: 'fine <b>really</b>', findings: [], canaryRequests: 100, intervals: 5 },
  approvals: [],
  awaitingApproval: 'full rollout 100 %',
  paused: false,
  timeline: [
    { at: Date.UTC(2026, 0, 1), event: 'requested', by: EVIL_BY, detail: `checkout ${EVIL_VERSION}` },
    { at: Date.UTC(2026, 0, 1, 0, 1), event: 'verdict PASS', detail: 'fine <b>really</b>' },
  ],
};

const commands: Array<{ id: string; cmd: Command; by: string; stage?: string }> = [];
const started: ReleaseAsk[] = [];
const source: ReleaseSource = {
  config,
  idFor: (s: string) => (s.includes(':') ? s : `release:${s}`),
  list: async () => [
    {
      workflowId: 'release:checkout',
      runId: 'run-1',
      startTime: new Date(status.startedAt),
      url: '',
      service: 'checkout',
      version: EVIL_VERSION,
      status: 'running',
    },
  ],
  status: async (id: string) => {
    if (id !== 'release:checkout') throw new InputError(`no release of ${id} found`);
    return status;
  },
  command: async (id: string, cmd: Command, by: string, _reason?: string, _via?: string, stage?: string) => {
    commands.push({ id, cmd, by, stage });
    return { accepted: true, message: `${cmd}d ${stage}` };
  },
  release: async (ask: ReleaseAsk) => {
    resolveRelease(config, ask); // the same checks as the real start
    started.push(ask);
    return { workflowId: `release:${ask.service}`, runId: 'run-2', url: '' };
  },
};

let dashboard: Dashboard;
let base: string;

beforeAll(async () => {
  dashboard = createDashboard({ releases: source, chart: async () => '<svg xmlns="http://www.w3.org/2000/svg"></svg>', log: () => undefined });
  ({ url: base } = await dashboard.start({ host: '127.0.0.1', port: 0 }));
});
afterAll(() => dashboard.stop());

const FORM = 'application/x-www-form-urlencoded';

/** Signs in through a fresh one-time link: the session cookie and the page's CSRF token. */
async function signIn(person: string): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${base}/login?token=${dashboard.sessions.issueToken(person)}`, { redirect: 'manual' });
  expect(res.status).toBe(303);
  const cookie = res.headers.get('set-cookie')!.split(';')[0];
  const page = await (await fetch(`${base}/`, { headers: { cookie } })).text();
  return { cookie, csrf: /name="csrf" value="([^"]+)"/.exec(page)![1] };
}

const post = (path: string, cookie: string, body: string, type = FORM) =>
  fetch(`${base}${path}`, { method: 'POST', headers: { cookie, 'content-type': type }, body, redirect: 'manual' });

test('the one-time token works once, for an HttpOnly, SameSite=Strict session cookie', async () => {
  const token = dashboard.sessions.issueToken('ana');
  const first = await fetch(`${base}/login?token=${token}`, { redirect: 'manual' });
  expect(first.status).toBe(303);
  expect(first.headers.get('set-cookie')).toMatch(/^quad_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
  expect(first.headers.get('referrer-policy')).toBe('no-referrer');
  expect((await fetch(`${base}/login?token=${token}`, { redirect: 'manual' })).status).toBe(401);
  expect((await fetch(`${base}/login?token=made-up-token-made-up-token`, { redirect: 'manual' })).status).toBe(401);
  expect((await fetch(`${base}/login`, { redirect: 'manual' })).status).toBe(401);
  expect(() => dashboard.sessions.issueToken('not a name')).toThrow(/not a user name/);
});

test('every bad request gets a 4xx, nothing reaches Releases, and the server stays up', async () => {
  const { cookie, csrf } = await signIn('ana');
  const approve = '/releases/release%3Acheckout/approve';
  const ok = `csrf=${encodeURIComponent(csrf)}&stage=x`;
  const answers: Record<string, number> = {
    'no session, a page': (await fetch(`${base}/`)).status,
    'no session, the API': (await fetch(`${base}/api/releases`)).status,
    'no session, a form': (await post(approve, '', ok)).status,
    'a made-up session': (await fetch(`${base}/`, { headers: { cookie: 'quad_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } })).status,
    'an unknown path': (await fetch(`${base}/nope`, { headers: { cookie } })).status,
    'not a release ID': (await fetch(`${base}/releases/%3Cscript%3E`, { headers: { cookie } })).status,
    'a bad escape': (await fetch(`${base}/releases/%E0%A4%A`, { headers: { cookie } })).status,
    'an unknown release': (await fetch(`${base}/api/releases/release%3Aother`, { headers: { cookie } })).status,
    'an unknown command': (await post('/releases/release%3Acheckout/explode', cookie, ok)).status,
    'GET on a form': (await fetch(`${base}${approve}`, { headers: { cookie } })).status,
    'POST on a page': (await post('/', cookie, ok)).status,
    'no CSRF token': (await post(approve, cookie, 'stage=x')).status,
    'a wrong CSRF token': (await post(approve, cookie, 'csrf=wrong&stage=x')).status,
    'a cross-site request': (
      await fetch(`${base}${approve}`, {
        method: 'POST',
        headers: { cookie, 'content-type': FORM, 'sec-fetch-site': 'cross-site' },
        body: ok,
        redirect: 'manual',
      })
    ).status,
    'JSON instead of a form': (await post(approve, cookie, JSON.stringify({ csrf, stage: 'x' }), 'application/json')).status,
    'an oversize body': (await post(approve, cookie, `${ok}&pad=${'x'.repeat(MAX_BODY)}`)).status,
    'an unexpected field': (await post(approve, cookie, `${ok}&by=mallory`)).status,
    'a field twice': (await post(approve, cookie, `${ok}&stage=y`)).status,
    'no stage': (await post(approve, cookie, `csrf=${encodeURIComponent(csrf)}`)).status,
    'a newline in a field': (await post(approve, cookie, `${ok}%0Aevil`)).status,
    'a release without a version': (await post('/releases', cookie, `csrf=${encodeURIComponent(csrf)}&service=checkout`)).status,
    'a URL over 2 KiB': (await fetch(`${base}/?${'x'.repeat(3000)}`, { headers: { cookie } })).status,
  };
  console.log(answers);
  expect(answers).toEqual({
    'no session, a page': 401,
    'no session, the API': 401,
    'no session, a form': 401,
    'a made-up session': 401,
    'an unknown path': 404,
    'not a release ID': 404,
    'a bad escape': 404,
    'an unknown release': 404,
    'an unknown command': 404,
    'GET on a form': 405,
    'POST on a page': 405,
    'no CSRF token': 403,
    'a wrong CSRF token': 403,
    'a cross-site request': 403,
    'JSON instead of a form': 415,
    'an oversize body': 413,
    'an unexpected field': 400,
    'a field twice': 400,
    'no stage': 400,
    'a newline in a field': 400,
    'a release without a version': 400,
    'a URL over 2 KiB': 414,
  });
  expect(commands).toEqual([]);
  expect(started).toEqual([]);
  expect((await fetch(`${base}/`, { headers: { cookie } })).status).toBe(200);
});

test('a version, a requester and a verdict with markup are shown escaped, under a nonce-only CSP', async () => {
  const { cookie } = await signIn('ana');
  for (const path of ['/', '/releases/release%3Acheckout']) {
    const res = await fetch(`${base}${path}`, { headers: { cookie } });
    const page = await res.text();
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]+';/);
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).not.toContain(EVIL_VERSION);
    expect(page).not.toContain('<img src=x');
    expect(page).not.toContain('<b>really</b>');
    // every script on the page is the page's own, carrying this response's nonce
    const nonce = /'nonce-([^']+)'/.exec(res.headers.get('content-security-policy')!)![1];
    expect(page.match(/<script[^>]*>/g)).toEqual([`<script nonce="${nonce}">`]);
  }
  expect(await (await fetch(`${base}/`, { headers: { cookie } })).text()).toContain('<td>&lt;img src=x onerror=alert(2)&gt;</td>');
  const release = await (await fetch(`${base}/releases/release%3Acheckout`, { headers: { cookie } })).text();
  expect(release).toContain('by &lt;img src=x onerror=alert(2)&gt;');
  // the JSON the page polls carries the text as it is; the page writes it with textContent
  const api = await fetch(`${base}/api/releases/release%3Acheckout`, { headers: { cookie } });
  expect(api.headers.get('content-type')).toBe('application/json');
  expect(api.headers.get('x-content-type-options')).toBe('nosniff');
  expect(((await api.json()) as { version: string }).version).toBe(EVIL_VERSION);
  const chart = await fetch(`${base}/releases/release%3Acheckout/chart.svg`, { headers: { cookie } });
  expect(chart.headers.get('content-type')).toBe('image/svg+xml');
});

test("who may act is config's: a non-approver is refused on the page, an approver's command is sent with the stage shown", async () => {
  commands.length = 0;
  const bob = await signIn('bob');
  const refused = await post('/releases/release%3Acheckout/approve', bob.cookie, `csrf=${encodeURIComponent(bob.csrf)}&stage=full+rollout+100+%25`);
  expect(refused.status).toBe(403);
  expect(await refused.text()).toContain('Not allowed: only the approvers of checkout may do that.');
  const bobStarts = await post('/releases', bob.cookie, `csrf=${encodeURIComponent(bob.csrf)}&service=checkout&version=v2.0.0`);
  expect(bobStarts.status).toBe(403);
  expect(commands).toEqual([]);
  expect(started).toEqual([]);

  const ana = await signIn('ana');
  const approved = await post('/releases/release%3Acheckout/approve', ana.cookie, `csrf=${encodeURIComponent(ana.csrf)}&stage=full+rollout+100+%25`);
  expect(approved.status).toBe(303);
  expect(approved.headers.get('location')).toBe('/releases/release%3Acheckout');
  expect(commands).toEqual([{ id: 'release:checkout', cmd: 'approve', by: 'ana', stage: 'full rollout 100 %' }]);
  // the message is shown once, on the page the answer led to
  const page = await (await fetch(`${base}/releases/release%3Acheckout`, { headers: { cookie: ana.cookie } })).text();
  expect(page).toContain('approved full rollout 100 %');
  // rollback acts whatever the stage: no stage is pinned
  await post('/releases/release%3Acheckout/rollback', ana.cookie, `csrf=${encodeURIComponent(ana.csrf)}&stage=old`);
  expect(commands[1]).toEqual({ id: 'release:checkout', cmd: 'rollback', by: 'ana', stage: undefined });

  const badVersion = await post('/releases', ana.cookie, `csrf=${encodeURIComponent(ana.csrf)}&service=checkout&version=${encodeURIComponent(EVIL_VERSION)}`);
  expect(badVersion.status).toBe(409);
  expect(await badVersion.text()).not.toContain(EVIL_VERSION);
  const unknown = await post('/releases', ana.cookie, `csrf=${encodeURIComponent(ana.csrf)}&service=nope&version=v2.0.0`);
  expect(unknown.status).toBe(409);
  const startedOk = await post('/releases', ana.cookie, `csrf=${encodeURIComponent(ana.csrf)}&service=checkout&version=v2.0.0&strategy=blue-green`);
  expect(startedOk.status).toBe(303);
  expect(started).toEqual([expect.objectContaining({ service: 'checkout', version: 'v2.0.0', strategy: 'blue-green', requestedBy: 'ana' })]);
});
