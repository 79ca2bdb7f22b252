// The chaos run (issue 14): releases on the dev server against the sandbox — good versions, `-bad`
// versions and flag ramps, each lane its own service so lanes run at once and each lane's releases one
// after another — while worker processes are killed with SIGKILL at chosen moments of a release
// (right after a split, mid-window, mid-judge, mid-undo, mid-notice) and the dev server itself is
// killed and restarted on its SQLite file. Used by test/chaos/chaos.test.ts (CI size) and
// test/chaos/main.ts (`npm run test:chaos [-- --full]`).
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { Client, Connection } from '@temporalio/client';
import { rng } from '../support/prng';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../support/stack';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { devServerSettings } from '../support/temporal-servers';
import { startLoad } from '../../sandbox/load';
import { loadConfig } from '../../config/load';
import { Releases, AlreadyReleasingError } from '../../client/releases';
import type { ReleaseStatus } from '../../contract/messages';
import { startDevServer, killDevServer, type DevServer } from '../support/dev-server-process';
import { freePort } from '../support/net';
import { pendingOf, recoveryOf, diagnose, type Pending } from './observe';

export type Moment = 'shift' | 'window' | 'judge' | 'undo' | 'notice';
export const MOMENTS: Moment[] = ['shift', 'window', 'judge', 'undo', 'notice'];

export interface ChaosOptions {
  seed: number;
  /** at least this many releases (lanes keep releasing until the kills are done too) */
  releases: number;
  /** worker kills (the server kills come on top) */
  kills: number;
  serverKills: number;
  /** release lanes (one service each) and flag-ramp lanes */
  lanes: number;
  flagLanes: number;
  workers: number;
  /** load per releasing service */
  loadRps?: number;
  /**
   * Activities whose worker is never killed while it runs one: those with a long start-to-close and no
   * heartbeat timeout, which a dead worker holds for their whole timeout (see the chaos report). Empty
   * = kill whatever runs.
   */
  spare?: string[];
  /** a release not closed this long after the chaos ended is stuck */
  stuckBoundMs?: number;
  log?: (line: string) => void;
}

type Kind = 'good' | 'bad' | 'flag' | 'flag-bad';
interface Planned {
  n: number;
  lane: number;
  kind: Kind;
  workflowId: string;
  service: string;
  version?: string;
  flag?: string;
  expected: 'succeeded' | 'rolled_back';
}
export interface Outcome extends Planned {
  status: string;
  correct: boolean;
  doubleApplied: number;
  undoUnfinished: boolean;
  stuck: boolean;
  /** the router's changes for this version (percent/previous), or the flag's end state */
  trace: string;
  tookMs: number;
}
export interface KillRecord {
  n: number;
  moment: Moment | 'server';
  at: number;
  workflowId: string | null;
  worker: string | null;
  /** the kill landed in the named moment (the activity was still in flight on the dead worker; the split already applied) */
  hit: boolean;
  detail: string;
  /** the releases (runs) that had a step on the dead worker, or every running one for the server */
  affected: Array<{ workflowId: string; runId: string; held: string[] }>;
  recoverMs: number | null;
}
export interface ChaosReport {
  seed: number;
  outcomes: Outcome[];
  kills: KillRecord[];
  releases: number;
  correct: number;
  doubleApplied: number;
  stuck: number;
  undoUnfinished: number;
  recoverMedianS: number;
  recoverMaxS: number;
  tookMs: number;
  summary: string;
}

const BASE = 'v1.0.0';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => (ms / 1000).toFixed(1);
/** the sandbox as the workers see it: each request a little late, so a split or a judge is in flight long enough to be caught */
const SANDBOX_DELAY_MS = 400;
/** each SMTP command late: a notice takes about a second */
const SMTP_DELAY_MS = 150;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, sleep(ms).then(() => Promise.reject(new Error(`no answer in ${ms} ms`)))]);
}

function median(xs: number[]): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The kill schedule: worker kills (each at whichever moment a release reaches first), the server kills spread over them. */
function killSchedule(kills: number, serverKills: number): Array<'worker' | 'server'> {
  const out: Array<'worker' | 'server'> = Array(kills).fill('worker');
  for (let i = 1; i <= serverKills; i++) out.splice(Math.round((i * out.length) / (serverKills + 1)) + i - 1, 0, 'server');
  return out;
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? ((line: string) => process.stdout.write(line + '\n'));
  const rand = rng(opts.seed);
  const loadRps = opts.loadRps ?? 60;
  const stuckBoundMs = opts.stuckBoundMs ?? 150_000;
  const spare = opts.spare ?? [];
  const t0 = Date.now();
  const dir = tempDir('quad-chaos-');
  const taskQueue = `chaos-${process.pid}`;
  let server: DevServer | undefined;
  let sandbox: SandboxProcess | undefined;
  let sandboxProxy: FaultProxy | undefined;
  let smtpProxy: FaultProxy | undefined;
  let connection: Connection | undefined;
  const workers = new Map<number, Child>();
  const smtp = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onData(stream, _session, cb) {
      stream.on('data', () => undefined);
      stream.on('end', () => cb());
    },
  });
  log(
    `chaos seed=${opts.seed} releases>=${opts.releases} kills>=${opts.kills} server_kills=${opts.serverKills} lanes=${opts.lanes}+${opts.flagLanes} flag workers=${opts.workers}`,
  );
  try {
    // ---- the stack ----
    const port = await freePort();
    const db = join(dir.path, 'temporal.sqlite');
    const address = `127.0.0.1:${port}`;
    const services = [...Array(opts.lanes).keys()].map((i) => `chaos-${i}`);
    const flagServices = [...Array(opts.flagLanes).keys()].map((i) => `chaosflag-${i}`);
    const flagsFile = join(dir.path, 'flags.json');
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    let bundle: string;
    [server, sandbox, bundle] = await Promise.all([
      startDevServer(port, db, 'error'),
      startSandboxProcess({ serve: Object.fromEntries([...services, ...flagServices].map((s) => [s, BASE])), flagsFile }),
      bundleFile(dir.path),
    ]);
    sandboxProxy = await startFaultProxy({ port: Number(new URL(sandbox.url).port) });
    sandboxProxy.set({ kind: 'delay', ms: SANDBOX_DELAY_MS, connect: false });
    smtpProxy = await startFaultProxy({ port: (smtp.server.address() as AddressInfo).port });
    smtpProxy.set({ kind: 'delay', ms: SMTP_DELAY_MS, connect: false });

    // one service per lane, its windows drawn once: 1–3 s each
    const windowMin = () => Math.round((1 + 2 * rand()) * 10) / 600;
    const sub = join(dir.path, 'cfg');
    mkdirSync(sub);
    const cfgFile = writeStackConfig(sub, { sandboxUrl: sandboxProxy.url, address, taskQueue, pollIntervalS: 1, minRequests: 20, stages: [], dataDir: sub });
    const doc = JSON.parse(readFileSync(cfgFile, 'utf8'));
    const proto = doc.services.checkout;
    doc.services = {};
    for (const s of [...services, ...flagServices]) {
      doc.services[s] = {
        ...proto,
        rollout_plan: [
          { traffic_percent: 40, duration_minutes: windowMin() },
          { traffic_percent: 70, duration_minutes: windowMin() },
          { traffic_percent: 100 },
        ],
      };
    }
    doc.providers.file_flags = { path: flagsFile };
    doc.notifications.email_enabled = true;
    doc.providers.email = { host: '127.0.0.1', port: smtpProxy.port, from: 'Release bot <quad@example.com>', to: ['ops@example.com'] };
    // flag names are drawn per lane as the lane goes; the config names enough of them up front
    const maxPerLane = Math.ceil((opts.releases + opts.kills) / Math.max(1, opts.lanes + opts.flagLanes)) + 8;
    doc.flags = {};
    for (const [lane, s] of flagServices.entries())
      for (let k = 1; k <= maxPerLane; k++)
        for (const name of [`ramp_${lane}_${k}`, `ramp_${lane}_${k}_bad`])
          doc.flags[name] = { service: s, watch: 'variants', rollout_plan: [{ users_percent: 50, duration_minutes: 0.05 }, { users_percent: 100 }] };
    writeFileSync(cfgFile, JSON.stringify(doc, null, 2));
    const config = loadConfig(cfgFile);

    const startWorker = async () => {
      const w = await startWorkerProcess({ configFile: cfgFile, address, taskQueue, bundle });
      workers.set(w.pid, w);
      return w;
    };
    await Promise.all([...Array(opts.workers)].map(startWorker));
    connection = await Connection.connect({ address });
    const client = new Client({ connection, namespace: devServerSettings().namespace });
    const rel = new Releases(client, config, taskQueue);
    log(`stack up in ${secs(Date.now() - t0)} s: dev server ${address} (${db}), sandbox ${sandbox.url}, ${workers.size} workers`);

    // ---- the lanes ----
    /** held shut by the chaos for a moment around a kill: no release starts meanwhile */
    const gate = (() => {
      let shut: Promise<void> | null = null;
      let release = () => undefined as void;
      return {
        close: () => void (shut ??= new Promise<void>((r) => (release = r))),
        open: () => {
          release();
          shut = null;
        },
        passed: async () => {
          while (shut) await shut;
        },
      };
    })();
    /** workflow id → run id of the releases in flight */
    const running = new Map<string, string>();
    const outcomes: Outcome[] = [];
    const kills: KillRecord[] = [];
    let planned = 0;
    let chaosOverAt: number | null = null;
    const moreReleases = () => planned < opts.releases || chaosOverAt === null;

    /** how the release ended (its result's status and reason), or null when it is stuck */
    const waitClosed = async (id: string): Promise<{ status: string; reason: string } | null> => {
      for (;;) {
        try {
          const d = await client.workflow.getHandle(id).describe();
          if (d.status.name !== 'RUNNING') {
            if (d.status.name !== 'COMPLETED') return { status: d.status.name.toLowerCase(), reason: '' };
            const r = await rel.result(id);
            return { status: r.status, reason: r.reason };
          }
        } catch {
          // the server restarting
        }
        if (chaosOverAt !== null && Date.now() > chaosOverAt + stuckBoundMs) return null;
        await sleep(300);
      }
    };

    const start = async (p: Planned) => {
      const end = Date.now() + 60_000;
      for (;;) {
        try {
          if (p.flag) await rel.flagRamp({ flag: p.flag, requestedBy: 'ana', source: 'cli' });
          else await rel.release({ service: p.service, version: p.version!, requestedBy: 'ana', source: 'cli' });
          return;
        } catch (err) {
          // a start whose answer was lost to a server kill: it is our release that runs
          if (err instanceof AlreadyReleasingError && (err.running?.version === p.version || p.flag)) return;
          if (Date.now() > end) throw err;
          await sleep(500);
        }
      }
    };

    const runIdOf = async (id: string): Promise<string> => {
      for (;;) {
        const d = await client.workflow
          .getHandle(id)
          .describe()
          .catch(() => null);
        if (d) return d.runId;
        await sleep(300);
      }
    };

    const readFlag = (name: string) => (existsSync(flagsFile) ? JSON.parse(readFileSync(flagsFile, 'utf8')).flags?.[name] : undefined);

    const runLane = async (lane: number, service: string, flags: boolean) => {
      const laneRand = rng(opts.seed * 1000 + lane + 1);
      let serving = BASE;
      // every lane releases at least twice (one of each kind), so the mix holds however the timing falls
      for (let k = 1; k <= 2 || moreReleases(); k++) {
        const n = ++planned;
        // the lane's first two are one of each, then a draw
        const bad = k === 1 ? lane % 2 === 1 : k === 2 ? lane % 2 === 0 : laneRand() < 0.4;
        const p: Planned = flags
          ? {
              n,
              lane,
              kind: bad ? 'flag-bad' : 'flag',
              service,
              flag: `ramp_${lane - opts.lanes}_${k}${bad ? '_bad' : ''}`,
              workflowId: '',
              expected: bad ? 'rolled_back' : 'succeeded',
            }
          : {
              n,
              lane,
              kind: bad ? 'bad' : 'good',
              service,
              version: `v1.${k}.0${bad ? '-bad' : ''}`,
              workflowId: `release:${service}`,
              expected: bad ? 'rolled_back' : 'succeeded',
            };
        if (p.flag) p.workflowId = `flag:${p.flag}`;
        if (flags && k > maxPerLane) break;
        // a flag's window is judged on half the users (on against off): twice the load
        const load = startLoad({ url: sandbox!.url, rps: flags ? 2 * loadRps : loadRps, service, users: flags ? 1000 : 0, maxDurationS: 1800 });
        await gate.passed();
        const began = Date.now();
        await start(p);
        running.set(p.workflowId, await runIdOf(p.workflowId));
        const closed = await waitClosed(p.workflowId);
        if (!closed) log(`STUCK ${p.workflowId}: ${await diagnose(client, p.workflowId, running.get(p.workflowId)!)}`);
        const status = closed?.status ?? null;
        running.delete(p.workflowId);
        await load.stop();
        const o: Outcome = {
          ...p,
          status: status ?? 'stuck',
          stuck: status === null,
          correct: false,
          doubleApplied: 0,
          undoUnfinished: false,
          trace: '',
          tookMs: Date.now() - began,
        };
        if (p.flag) {
          const f = readFlag(p.flag);
          o.trace = f ? `flag ${f.enabled ? 'on' : 'off'} ${f.rolloutPercent} %` : 'flag absent';
          o.undoUnfinished = status === 'rolled_back' && f !== undefined;
          o.correct = status === p.expected && (status !== 'succeeded' || (f?.enabled === true && f?.rolloutPercent === 100));
        } else {
          const changes = (await sandbox!.changes(service)).filter((c) => c.version === p.version);
          const keys = changes.map((c) => `${c.percent}|${c.previousVersion ?? '-'}`);
          o.doubleApplied = keys.filter((key, i) => keys.indexOf(key) < i).length;
          const t = await sandbox!.traffic(service);
          const now = t.percent === 100 ? t.version : t.percent === 0 ? t.previousVersion : `${t.version} at ${t.percent} %`;
          o.trace = `splits ${changes.map((c) => `${c.percent}${c.previousVersion ? '' : '(alone)'}`).join(',')} serving ${now}`;
          o.undoUnfinished = status === 'rolled_back' && now !== serving;
          o.correct = status === p.expected && (status !== 'succeeded' || now === p.version);
          if (status === 'succeeded') serving = p.version!;
        }
        if (!o.correct && closed?.reason) o.trace += ` · reason: ${closed.reason.slice(0, 300)}`;
        outcomes.push(o);
        log(
          `release ${n} ${p.workflowId} ${p.version ?? ''}${p.flag ? 'ramp' : ''}: expected ${p.expected}, got ${o.status} in ${secs(o.tookMs)} s · ${o.trace}${o.doubleApplied ? ` · DOUBLE ${o.doubleApplied}` : ''}${o.undoUnfinished ? ' · UNDO UNFINISHED' : ''}${o.correct ? '' : ' · WRONG'}`,
        );
        if (o.stuck) break; // the service stays held: nothing more can start on it
      }
    };
    const lanes = [...services.map((s, i) => runLane(i, s, false)), ...flagServices.map((s, i) => runLane(opts.lanes + i, s, true))];

    // ---- the chaos ----
    const statusOf = (id: string) => withTimeout<ReleaseStatus>(rel.status(id), 1500).catch(() => null);
    const changeAt = async (service: string, version: string, after: number) => {
      const cs = (await sandbox!.changes(service)).filter((c) => c.version === version && c.at >= after);
      return cs.length ? cs[cs.length - 1] : null;
    };
    interface Found {
      moment: Moment;
      workflowId: string;
      worker: string;
      activity: Pending | null;
      detail: string;
      splitAt?: number;
    }
    /** Is this release at `moment` now, with its step on a live worker? */
    const match = async (moment: Moment, id: string, runId: string, d: { pending: Pending[] }): Promise<Omit<Found, 'moment'> | null> => {
      const on = (types: string[]) => d.pending.find((a) => a.started && types.includes(a.type) && a.worker && workers.has(parseInt(a.worker, 10)));
      if (moment === 'judge' || moment === 'notice') {
        const a = on([moment === 'judge' ? 'judge' : 'notify']);
        if (a) return { workflowId: id, worker: a.worker!, activity: a, detail: `${a.type} attempt ${a.attempt}` };
      } else if (moment === 'window') {
        const a = on(['guard']);
        const st = a ? await statusOf(id) : null;
        if (a && st?.windowEndsAt && st.windowEndsAt - Date.now() > 400)
          return {
            workflowId: id,
            worker: a.worker!,
            activity: a,
            detail: `guard of ${st.stage}, ${secs(st.windowEndsAt - Date.now())} s of the window left`,
          };
      } else if (moment === 'undo') {
        // revert runs only in an undo, a split or a retire may be one; a flag's restore is a file write, too quick to catch
        const a = on(['revert', 'setTraffic', 'retire']);
        const undoing = a && (a.type === 'revert' || (await statusOf(id))?.phase === 'rolling_back');
        if (a && undoing) return { workflowId: id, worker: a.worker!, activity: a, detail: `${a.type} while rolling back` };
      } else if (moment === 'shift' && id.startsWith('release:')) {
        const a = on(['setTraffic']);
        const st = a ? await statusOf(id) : null;
        if (a && st && st.phase === 'rolling_out') {
          // right after the split call: the router has it, the activity may not have reported yet
          const asked = a.startedAt ?? Date.now();
          for (let i = 0; i < 30; i++) {
            const c = await changeAt(st.service, st.version, asked - 50);
            if (c) {
              // a spared split call is let report first: its worker then dies right after it
              for (let j = 0; spare.includes('setTraffic') && j < 40; j++) {
                const now = await pendingOf(client, id, runId).catch(() => null);
                if (now && !now.pending.some((x) => x.activityId === a.activityId)) break;
                await sleep(25);
              }
              return { workflowId: id, worker: a.worker!, activity: a, detail: `split ${c.percent} % applied ${Date.now() - c.at} ms ago`, splitAt: c.at };
            }
            await sleep(25);
          }
        }
      }
      return null;
    };
    /** Watches the running releases until one is at one of the `wanted` moments (the first wanted first). */
    const findMoment = async (wanted: Moment[], timeoutMs: number): Promise<Found | null> => {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        // a release still recovering from an earlier kill is left alone: the kills spread over the releases
        const sweep = await Promise.all(
          [...running]
            .filter(([id]) => !recovering.has(id))
            .sort(() => rand() - 0.5)
            .map(async ([id, runId]) => ({ id, runId, d: await pendingOf(client, id, runId).catch(() => null) })),
        );
        for (const moment of wanted)
          for (const { id, runId, d } of sweep) {
            const f = d?.running ? await match(moment, id, runId, d) : null;
            if (f) return { moment, ...f };
          }
        await sleep(100);
      }
      return null;
    };

    const recoveries: Promise<void>[] = [];
    const recovering = new Map<string, number>();
    const record = (k: KillRecord, dead: string | null) => {
      kills.push(k);
      for (const a of k.affected) recovering.set(a.workflowId, (recovering.get(a.workflowId) ?? 0) + 1);
      recoveries.push(
        (async () => {
          const times = await Promise.all(
            k.affected.map(async (run) => {
              const t = await recoveryOf(client, run, k.at, dead, stuckBoundMs);
              const left = (recovering.get(run.workflowId) ?? 1) - 1;
              if (left > 0) recovering.set(run.workflowId, left);
              else recovering.delete(run.workflowId);
              return t;
            }),
          );
          k.recoverMs = times.some((t) => t === null) || !times.length ? null : Math.max(...times.map(Number));
          log(
            `kill ${k.n} ${k.moment === 'server' ? 'dev server' : `mid-${k.moment}`}${k.worker ? ` worker ${k.worker}` : ''}${k.workflowId ? ` ${k.workflowId}` : ''}: ${k.detail}${k.hit ? '' : ' (MISSED the moment)'}; ` +
              `in flight ${k.affected.length}, recovered in ${k.recoverMs === null ? 'NEVER' : `${secs(k.recoverMs)} s`}`,
          );
        })(),
      );
    };

    const schedule = killSchedule(opts.kills, opts.serverKills);
    let replacing: Promise<unknown> = Promise.resolve();
    for (let i = 0; i < schedule.length; i++) {
      const slot = schedule[i];
      await sleep(300 + rand() * 1200);
      await replacing; // a full pool before the next kill: never the last worker
      if (!running.size) await sleep(500);
      if (slot === 'server') {
        // when a release runs that is not already waiting on a dead worker's step
        for (let w = 0; w < 100 && ![...running.keys()].some((id) => !recovering.has(id)); w++) await sleep(200);
        // the releases it holds up (not those already waiting on a dead worker's step)
        const affected = [...running].filter(([id]) => !recovering.has(id)).map(([workflowId, runId]) => ({ workflowId, runId, held: [] }));
        const at = Date.now();
        await killDevServer(server);
        const signal = server.child.signalCode;
        const down = 1000 + Math.round(rand() * 1500);
        await sleep(down);
        server = await startDevServer(port, db, 'error');
        record(
          {
            n: i + 1,
            moment: 'server',
            at,
            workflowId: null,
            worker: null,
            hit: signal === 'SIGKILL',
            detail: `killed (${signal}), restarted on ${db} after ${secs(down)} s`,
            affected,
            recoverMs: null,
          },
          null,
        );
        continue;
      }
      // the moments hit least so far first: whichever a release reaches first is the kill
      const hits = (m: Moment) => kills.filter((k) => k.moment === m && k.hit).length;
      const fewest = Math.min(...MOMENTS.map(hits));
      const rare = [...MOMENTS].sort(() => rand() - 0.5).filter((m) => hits(m) === fewest);
      const found = (await findMoment(rare, 20_000)) ?? (await findMoment(MOMENTS, 10_000));
      if (!found) {
        log(`kill ${i + 1}: no release at any moment within 20 s; tried again`);
        schedule.push('worker');
        if (schedule.length > opts.kills * 3) break;
        continue;
      }
      const moment = found.moment;
      const pid = parseInt(found.worker, 10);
      const victim = workers.get(pid);
      if (!victim) continue;
      // every release's steps on that worker, as it dies
      const onVictim = async () =>
        Promise.all([...running].map(async ([workflowId, runId]) => ({ workflowId, runId, d: await pendingOf(client, workflowId, runId).catch(() => null) })));
      // no release starts (and schedules its prepare) between the check below and the kill
      gate.close();
      await sleep(50);
      const before = await onVictim();
      // a spared step on the victim, or one waiting for a worker (it may go to the victim)
      const spared = before.flatMap(
        (x) =>
          x.d?.pending
            .filter((a) => spare.includes(a.type) && (!a.started || a.worker === found.worker))
            .map((a) => `${x.workflowId} ${a.type}${a.started ? '' : ' (scheduled)'}`) ?? [],
      );
      if (spared.length) {
        gate.open();
        log(`kill ${i + 1} mid-${moment}: worker ${pid} runs ${spared.join(', ')} (spared: long timeout, no heartbeat); tried again later`);
        schedule.push('worker');
        continue;
      }
      const at = Date.now();
      victim.kill('SIGKILL');
      await victim.exited;
      workers.delete(pid);
      gate.open();
      replacing = startWorker();
      const after = await onVictim();
      const affected = before
        .map((x) => ({
          workflowId: x.workflowId,
          runId: x.runId,
          held: x.d?.pending.filter((a) => a.started && a.worker === found.worker).map((a) => a.activityId) ?? [],
        }))
        .filter((x) => x.workflowId === found.workflowId || x.held.length);
      // was the caught step still in flight when its worker died (for a shift: the router already had the split)
      const still = after.find((x) => x.workflowId === found.workflowId)?.d?.pending.some((a) => a.activityId === found.activity?.activityId) ?? false;
      const hit = moment === 'shift' ? found.splitAt !== undefined && found.splitAt <= at : still;
      record({ n: i + 1, moment, at, workflowId: found.workflowId, worker: `${pid}`, hit, detail: found.detail, affected, recoverMs: null }, found.worker);
    }
    chaosOverAt = Date.now();
    log(`chaos over after ${secs(chaosOverAt - t0)} s: ${kills.length} kills; waiting for the releases in flight`);
    await Promise.all(lanes);
    await Promise.all(recoveries);
    await replacing;

    const recover = kills.map((k) => k.recoverMs).filter((x): x is number => x !== null);
    const r: Omit<ChaosReport, 'summary'> = {
      seed: opts.seed,
      outcomes,
      kills,
      releases: outcomes.length,
      correct: outcomes.filter((o) => o.correct).length,
      doubleApplied: outcomes.reduce((a, o) => a + o.doubleApplied, 0),
      stuck: outcomes.filter((o) => o.stuck).length,
      undoUnfinished: outcomes.filter((o) => o.undoUnfinished).length,
      recoverMedianS: median(recover) / 1000,
      recoverMaxS: Math.max(0, ...recover) / 1000,
      tookMs: Date.now() - t0,
    };
    const summary =
      `summary releases=${r.releases} correct=${r.correct} double_applied=${r.doubleApplied} stuck=${r.stuck} undo_unfinished=${r.undoUnfinished} ` +
      `recover_s_median=${r.recoverMedianS.toFixed(1)} recover_s_max=${r.recoverMaxS.toFixed(1)}`;
    return { ...r, summary };
  } finally {
    await connection?.close().catch(() => undefined);
    await Promise.all([...workers.values()].map((w) => w.stop(3_000)));
    await sandboxProxy?.close();
    await smtpProxy?.close();
    await new Promise<void>((r) => smtp.close(() => r()));
    await sandbox?.stop(3_000);
    await killDevServer(server);
    dir.remove();
  }
}
