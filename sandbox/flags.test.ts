// Feature flags in the sandbox over real sockets: the file flag provider's file, evaluated per user at the
// router; a flag's on and off sides in the stats; `bad` / `slow` flags that really fail or slow requests;
// file changes picked up within a second; a broken file keeps the last flags, a missing one means none.
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync, renameSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SideAggregate } from '../contract/verdict';
import { isEnabledIn, writeFlagFile, type FlagFile } from '../activities/providers/flags/file';
import { SLOW_EXTRA_MS } from './behaviour';
import { evaluateFlags, FlagFileWatcher, USER_HEADER } from './flags';
import { startLoad } from './load';
import { startSandbox, type Sandbox } from './sandbox';

jest.setTimeout(30_000);

const VERSION = 'v1.0.0';
const HEALTHY = 'dark_mode';
const BAD = 'new-checkout-bad';
const USERS = 1000;
const flagsAt = (percent: number): FlagFile => ({
  flags: {
    [HEALTHY]: { enabled: true, rolloutPercent: percent },
    [BAD]: { enabled: true, rolloutPercent: percent },
  },
});

interface Reply {
  status: number;
  body: string;
  ms: number;
}

function get(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  const startedAt = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: performance.now() - startedAt }));
      })
      .on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The first of user-0, user-1, … that `pick` accepts. */
function userWhere(pick: (user: string) => boolean): string {
  for (let k = 0; k < 100_000; k += 1) if (pick(`user-${k}`)) return `user-${k}`;
  throw new Error('no such user');
}

describe('sandbox with a flags file', () => {
  let dir: string;
  let flagsFile: string;
  let sandbox: Sandbox;

  /** One bucket over [from, to): every version and flag side that saw requests. */
  async function statsBetween(from: number, to: number): Promise<Record<string, SideAggregate>> {
    const reply = await get(`${sandbox.adminUrl}/admin/services/checkout/stats?from=${from}&to=${to}&interval_s=3600`);
    expect(reply.status).toBe(200);
    const { intervals } = JSON.parse(reply.body) as { intervals: Array<{ versions: Record<string, SideAggregate> }> };
    expect(intervals).toHaveLength(1);
    return intervals[0].versions;
  }

  const onShare = (v: Record<string, SideAggregate>, flag: string) =>
    v[`flag:${flag}=on`].requests / (v[`flag:${flag}=on`].requests + v[`flag:${flag}=off`].requests);

  /** Writes the file the way a hand edit or another writer might: whole text to a temp file, renamed over. */
  function replaceFile(text: string): void {
    const tmp = `${flagsFile}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, flagsFile);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'quad-sandbox-flags-'));
    flagsFile = join(dir, 'flags.json');
    await writeFlagFile(flagsFile, flagsAt(30));
    sandbox = await startSandbox({ port: 0, adminPort: 0, initial: { checkout: VERSION }, flagsFile });
  });
  afterAll(async () => {
    await sandbox?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('splits attributed requests into each flag’s on / off side; the bad flag fails its on side only', async () => {
    const from = Date.now();
    const load = startLoad({ url: sandbox.url, rps: 300, maxDurationS: 3, users: USERS });
    const anonymous = await Promise.all(Array.from({ length: 40 }, () => get(`${sandbox.url}/`)));
    const counts = await load.done;
    const v = await statsBetween(from, Date.now() + 1);
    // the figures first, so a failure below says what the machine did
    const sides = Object.entries(v).map(([k, s]) => `${k}: ${s.requests} req, ${s.errors} err, p95 ${s.latencyP95Ms} ms, cpu ${s.cpuPct}`);
    console.log(`load ${JSON.stringify({ ...counts, byVersion: undefined, usersByVersion: undefined })}\n${sides.join('\n')}`);

    expect(counts).toMatchObject({ failed: 0, skipped: 0 });
    expect(anonymous.every((r) => r.status === 200)).toBe(true);
    // the version's stats are as before: every request, with its process's CPU and memory
    expect(v[VERSION].requests).toBe(counts.sent + anonymous.length);
    expect(v[VERSION].cpuPct).not.toBeNull();
    expect(v[VERSION].memoryMb).toBeGreaterThan(10);
    for (const flag of [HEALTHY, BAD]) {
      const on = v[`flag:${flag}=on`];
      const off = v[`flag:${flag}=off`];
      // only the load's requests carry a user: the anonymous ones are in no flag side
      expect(on.requests + off.requests).toBe(counts.sent);
      // ~900 requests; the 1000 users put 30.3 % / 28.6 % in: 30 % ± 7
      expect(onShare(v, flag)).toBeGreaterThan(0.23);
      expect(onShare(v, flag)).toBeLessThan(0.37);
      for (const side of [on, off]) {
        expect(side).toMatchObject({ cpuPct: null, memoryMb: null });
        expect(side.latencyP95Ms).toBeGreaterThan(0);
      }
    }
    const badOn = v[`flag:${BAD}=on`];
    // binomial(~250, 0.08): mean ~20, sd ~4.3; a run here drew 8 of 240, near the old 2 % floor. P(0)
    // is below 1e-8 and 20 % is 7 sd above
    expect(badOn.errors).toBeGreaterThan(0);
    expect(badOn.errors / badOn.requests).toBeLessThan(0.2);
    expect(v[`flag:${BAD}=off`].errors).toBe(0);
    // every error is the bad flag's, the clients got them, and the version's stats count them too
    expect(counts.errors).toBe(badOn.errors);
    expect(v[VERSION].errors).toBe(badOn.errors);
  });

  it('a user the bad flag is on for really gets HTTP 500s from it; a user it is off for gets none', async () => {
    const file = flagsAt(30);
    const inBad = userWhere((u) => isEnabledIn(file, BAD, u));
    const inNone = userWhere((u) => evaluateFlags(file, u).every((f) => !f.on));
    const badReplies = await Promise.all(Array.from({ length: 300 }, () => get(`${sandbox.url}/`, { [USER_HEADER]: inBad })));
    const failed = badReplies.filter((r) => r.status === 500);
    // binomial(300, 0.08): mean 24, sd 4.7; P(0) < 1e-10, 60 is 7.7 sd above
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed.length).toBeLessThanOrEqual(60);
    expect(JSON.parse(failed[0].body)).toMatchObject({ error: 'internal error', version: VERSION, flag: BAD });
    const okReplies = await Promise.all(Array.from({ length: 100 }, () => get(`${sandbox.url}/`, { [USER_HEADER]: inNone })));
    expect(okReplies.filter((r) => r.status !== 200)).toHaveLength(0);
  });

  it('picks up a new rollout (temp file + rename) within a second', async () => {
    const load = startLoad({ url: sandbox.url, rps: 300, maxDurationS: 3.5, users: USERS });
    await sleep(500);
    await writeFlagFile(flagsFile, flagsAt(60));
    const changedAt = Date.now();
    await load.done;
    const v = await statsBetween(changedAt + 1000, Date.now() + 1);
    // ~600 requests from one second after the change on; the 1000 users put 58 % / 60 % in: 60 % ± 10
    for (const flag of [HEALTHY, BAD]) {
      expect(onShare(v, flag)).toBeGreaterThan(0.5);
      expect(onShare(v, flag)).toBeLessThan(0.7);
    }
  });

  it('keeps the last good flags when the file does not parse, and says so once', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      replaceFile('{"flags": {"dark_mode": {"enabled": tru');
      await sleep(300);
      const from = Date.now();
      const counts = await startLoad({ url: sandbox.url, rps: 300, maxDurationS: 1.5, users: USERS }).done;
      const v = await statsBetween(from, Date.now() + 1);
      expect(v[`flag:${HEALTHY}=on`].requests + v[`flag:${HEALTHY}=off`].requests).toBe(counts.sent);
      // still the 60 % of the last good file (~450 requests), not 30 % or none
      expect(onShare(v, HEALTHY)).toBeGreaterThan(0.47);
      expect(onShare(v, HEALTHY)).toBeLessThan(0.73);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][0]).toMatch(/flags\.json: .*not valid JSON.*keeping the last good flags/);
    } finally {
      warn.mockRestore();
    }
  });

  it('a slow flag adds its latency to the requests it is on for', async () => {
    await writeFlagFile(flagsFile, { flags: { 'search.slow': { enabled: true, rolloutPercent: null } } });
    await sleep(300);
    const from = Date.now();
    const replies = await Promise.all(Array.from({ length: 10 }, (_, k) => get(`${sandbox.url}/`, { [USER_HEADER]: `user-${k}` })));
    const v = await statsBetween(from, Date.now() + 1);
    expect(replies.every((r) => r.status === 200 && r.ms >= SLOW_EXTRA_MS)).toBe(true);
    expect(v['flag:search.slow=on']).toMatchObject({ requests: 10, errors: 0 });
    expect(v['flag:search.slow=on'].latencyP95Ms).toBeGreaterThanOrEqual(SLOW_EXTRA_MS);
    // a rollout of everyone has no off side; flags no longer in the file are not evaluated
    expect(Object.keys(v).sort()).toEqual(['flag:search.slow=on', VERSION]);
  });

  it('a missing file means no flags', async () => {
    unlinkSync(flagsFile);
    await sleep(300);
    const from = Date.now();
    const replies = await Promise.all(Array.from({ length: 20 }, (_, k) => get(`${sandbox.url}/`, { [USER_HEADER]: `user-${k}` })));
    const v = await statsBetween(from, Date.now() + 1);
    expect(replies.every((r) => r.status === 200 && r.ms < SLOW_EXTRA_MS)).toBe(true);
    expect(Object.keys(v)).toEqual([VERSION]);
  });
});

describe('FlagFileWatcher', () => {
  it('stats the file at most every checkEveryMs and re-reads it only when it changed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quad-flag-watcher-'));
    try {
      const path = join(dir, 'flags.json');
      const watcher = new FlagFileWatcher(path, { checkEveryMs: 200 });
      expect(await watcher.current()).toEqual({ flags: {} });
      await writeFlagFile(path, flagsAt(10));
      // checked a moment ago: the change is not seen yet…
      expect((await watcher.current()).flags).toEqual({});
      await sleep(220);
      // …and is once the interval has passed
      expect((await watcher.current()).flags[HEALTHY]).toMatchObject({ rolloutPercent: 10 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
