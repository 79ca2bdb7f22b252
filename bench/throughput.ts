// Throughput and footprint: `npm run bench:throughput`. Figures are printed, never asserted.
//
// N releases started at once (a burst) on the CLI dev server, each with BENCH_STAGES stages of
// BENCH_WINDOW_S-second windows watched by the real polling guard, one worker process
// (bench/throughput-worker.ts) per level so its RSS is its own, read from /proc while the level runs:
//   - sandbox level (BENCH_SANDBOX_N services, default 20): the real release workflow with the real
//     activities against the sandbox, each service its own two version processes under load. The sandbox
//     forks a process per version, so 1,000 services (2,000 processes) do not fit this machine:
//   - stub levels (BENCH_LEVELS, default "100,N"): the real release workflow with the workflow tests'
//     stub activities, except the guard, which is the real runGuard polling in-memory metrics (it holds
//     an activity slot for its whole window, as in production); BENCH_BAD_PCT % of them are bad versions
//     (10 % canary errors) that the guard must catch;
//   - the minimal workflow (bench/minimal-workflow.ts, bundled separately) at N, twice (a stage's activities
//     one after another, then all at once beside its window: the faster is the floor): the same number of
//     activity calls and timers as one release (counted from a release's history), no-op activities.
// releases/s = N / (first start → last close). Breach → decision: the guard's breach time (its result's
// `at`) → the start of the workflow task that read it (the timeline's 'breach' entry has that time).
// From every history: workflow-task timeouts by kind, the wait of workflow tasks for the worker, and each
// guard's start against its window (recorded by the worker: late = more than a poll after the window
// began; never started = scheduled, cancelled at the window's end without ever running).
// BENCH_COMPARE=1 (default) runs the stub levels first with the SDK's default worker slots, then with
// worker/tuning.ts (what worker/main.ts uses), and prints both.
//
// Settings (env): BENCH_N (1000), BENCH_LEVELS ("100,N"), BENCH_SANDBOX_N (20, 0 = none), BENCH_SANDBOX_RPS
// (10 per service), BENCH_STAGES (3), BENCH_WINDOW_S (2), BENCH_POLL_S (1), BENCH_BAD_PCT (10),
// BENCH_COMPARE (1), BENCH_START_CONCURRENCY (100 starts in flight), BENCH_MINIMAL (1; 0 = no minimal
// workflow, its figures n/a). The worker's own QUAD_MAX_* settings (worker/tuning.ts) apply to "tuned". Last line:
// `summary concurrent=N releases_per_s=A minimal_per_s=B ratio=R rss_mb_1000=M breach_to_decision_p99_s=P`
import '../test/support/quiet-runtime';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import { localEnv } from '../test/support/temporal-env';
import { ROOT } from '../test/support/temporal-servers';
import { startSandboxProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess } from '../test/support/stack';
import { startLoad, type Load } from '../sandbox/load';
import { loadConfig } from '../config/load';
import { Releases } from '../client/releases';
import { workerTuning } from '../worker/tuning';
import type { MinimalShape } from './minimal-workflow';

const env = process.env;
const N = Number(env.BENCH_N ?? 1000);
const LEVELS = (env.BENCH_LEVELS ?? `100,${N}`).split(',').map(Number);
const SANDBOX_N = Number(env.BENCH_SANDBOX_N ?? 20);
const SANDBOX_RPS = Number(env.BENCH_SANDBOX_RPS ?? 10);
const STAGES = Number(env.BENCH_STAGES ?? 3);
const WINDOW_S = Number(env.BENCH_WINDOW_S ?? 2);
const POLL_S = Number(env.BENCH_POLL_S ?? 1);
const BAD_PCT = Number(env.BENCH_BAD_PCT ?? 10);
const COMPARE = env.BENCH_COMPARE !== '0';
const START_CONCURRENCY = Number(env.BENCH_START_CONCURRENCY ?? 100);
const MINIMAL = env.BENCH_MINIMAL !== '0';

type Event = temporal.api.history.v1.IHistoryEvent;
const ET = temporal.api.enums.v1.EventType;
const TIMEOUT = temporal.api.enums.v1.TimeoutType;

type Tuning = 'sdk' | 'tuned';
interface LevelSpec {
  label: string;
  workflow: 'release' | 'minimal';
  activities: 'stub' | 'real';
  tuning: Tuning;
  n: number;
  /** release levels: the config its services are in */
  configFile?: string;
  services?: string[];
  shape?: MinimalShape;
}

interface GuardEvent {
  t: 'start' | 'end';
  wf: string;
  stage: string;
  lateMs?: number;
  windowMs?: number;
  kind?: string;
  at?: number | null;
}

interface LevelResult {
  spec: LevelSpec;
  wallS: number;
  perS: number;
  statuses: Record<string, number>;
  rssPeakMb: number;
  wftTimeouts: Record<string, number>;
  wftWaitP99S: number;
  eventsPerRun: number;
  upsertsPerRun: number;
  /** the upserts of one release that succeeded (the most common history) */
  upsertsOfOne: string[];
  activitiesPerRun: number;
  timersPerRun: number;
  guardsScheduled: number;
  guardsStarted: number;
  guardsLate: number;
  guardsAfterWindow: number;
  guardLateP99S: number;
  breachToDecisionS: number[];
  badCaughtByJudge: number;
  bad: number;
}

const num = (v: unknown) => Number(v ?? 0);
const ms = (d: { seconds?: unknown; nanos?: number | null } | null | undefined) => (d ? num(d.seconds) * 1000 + Math.round((d.nanos ?? 0) / 1e6) : 0);
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T, R>(items: T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

function rssMb(pid: number): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** The bench worker as a child process; resolves once it polls. */
async function startBenchWorker(spec: LevelSpec, address: string, taskQueue: string, eventsFile: string, bundles: { release: string; minimal: string }) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'throughput-worker.ts')], {
    cwd: ROOT,
    env: {
      ...env,
      TEMPORAL_ADDRESS: address,
      BENCH_TASK_QUEUE: taskQueue,
      BENCH_EVENTS_FILE: eventsFile,
      BENCH_WORKFLOW: spec.workflow,
      BENCH_ACTIVITIES: spec.activities,
      BENCH_TUNING: spec.tuning,
      QUAD_WORKFLOW_BUNDLE: bundles.release,
      BENCH_MINIMAL_BUNDLE: bundles.minimal,
      ...(spec.configFile ? { QUAD_CONFIG: spec.configFile } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-65536)));
  child.stderr.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-65536)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const end = Date.now() + 90_000;
  while (!/\[bench-worker\] \d+ .* RUNNING/.test(out)) {
    if (child.exitCode !== null || Date.now() > end) throw new Error(`bench worker not up:\n${out.slice(-3000)}`);
    await sleep(50);
  }
  return {
    pid: child.pid!,
    output: () => out,
    async stop() {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

interface HistoryFacts {
  events: number;
  upserts: number;
  activities: number;
  timers: number;
  guards: number;
  wftTimeouts: string[];
  wftWaitsMs: number[];
  /** guard breach `at` → start of the workflow task that read it */
  breachToDecisionMs: number | null;
  closedAt: number;
  /** each upsert's attributes, "QuadStage=canary 10 %, QuadStatus=running" */
  upsertList: string[];
}

function decode(p: temporal.api.common.v1.IPayloads | null | undefined): unknown {
  const data = p?.payloads?.[0]?.data;
  if (!data) return undefined;
  try {
    return JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    return undefined;
  }
}

function factsOf(events: Event[]): HistoryFacts {
  const guardIds = new Set<number>();
  const facts: HistoryFacts = {
    events: events.length,
    upserts: 0,
    activities: 0,
    timers: 0,
    guards: 0,
    wftTimeouts: [],
    wftWaitsMs: [],
    breachToDecisionMs: null,
    closedAt: ms(events.at(-1)?.eventTime),
    upsertList: [],
  };
  const scheduledAt = new Map<number, number>();
  let pendingBreachAt: number | null = null;
  for (const e of events) {
    const t = e.eventType;
    if (t === ET.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) {
      facts.upserts++;
      const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {};
      facts.upsertList.push(
        Object.entries(fields)
          .map(([k, v]) => `${k}=${String(decode({ payloads: [v] }))}`)
          .join(', '),
      );
    } else if (t === ET.EVENT_TYPE_TIMER_STARTED) facts.timers++;
    else if (t === ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      facts.activities++;
      if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'guard') {
        facts.guards++;
        guardIds.add(num(e.eventId));
      }
    } else if (t === ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED) scheduledAt.set(num(e.eventId), ms(e.eventTime));
    else if (t === ET.EVENT_TYPE_WORKFLOW_TASK_STARTED) {
      const s = scheduledAt.get(num(e.workflowTaskStartedEventAttributes?.scheduledEventId));
      if (s !== undefined) facts.wftWaitsMs.push(ms(e.eventTime) - s);
      if (pendingBreachAt !== null && facts.breachToDecisionMs === null) facts.breachToDecisionMs = ms(e.eventTime) - pendingBreachAt;
      pendingBreachAt = null;
    } else if (t === ET.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT) {
      facts.wftTimeouts.push(TIMEOUT[e.workflowTaskTimedOutEventAttributes?.timeoutType ?? 0] ?? 'unknown');
    } else if (t === ET.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      const a = e.activityTaskCompletedEventAttributes;
      if (guardIds.has(num(a?.scheduledEventId))) {
        const out = decode(a?.result) as { kind?: string; at?: number } | undefined;
        if (out?.kind === 'breach' && typeof out.at === 'number') pendingBreachAt = out.at;
      }
    }
  }
  return facts;
}

async function histories(client: Client, ids: string[]): Promise<HistoryFacts[]> {
  return pool(ids, 8, async (id) => factsOf((await client.workflow.getHandle(id).fetchHistory()).events ?? []));
}

function readEvents(file: string): GuardEvent[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as GuardEvent);
}

async function runLevel(client: Client, address: string, dir: string, spec: LevelSpec, bundles: { release: string; minimal: string }): Promise<LevelResult> {
  const tag = `${spec.label.replace(/[^a-z0-9]+/gi, '-')}-${process.pid}`;
  const taskQueue = `bench-throughput-${tag}`;
  const eventsFile = join(dir, `guards-${tag}.jsonl`);
  const worker = await startBenchWorker(spec, address, taskQueue, eventsFile, bundles);
  let rssPeakMb = rssMb(worker.pid);
  const sampler = setInterval(() => (rssPeakMb = Math.max(rssPeakMb, rssMb(worker.pid))), 250);
  const badEvery = BAD_PCT > 0 ? Math.max(1, Math.round(100 / BAD_PCT)) : Infinity;
  const isBad = (i: number) => spec.workflow === 'release' && spec.activities === 'stub' && i % badEvery === badEvery - 1;
  const ids: string[] = [];
  const statuses: Record<string, number> = {};
  const clock = { firstStart: 0, lastClose: 0 };
  try {
    const rel = spec.configFile ? new Releases(client, loadConfig(spec.configFile), taskQueue) : null;
    const idx = Array.from({ length: spec.n }, (_, i) => i);
    clock.firstStart = Date.now();
    await pool(idx, START_CONCURRENCY, async (i) => {
      if (spec.workflow === 'release') {
        const service = spec.services![i];
        const started = await rel!.release({ service, version: `v2.0.${i + 1}${isBad(i) ? '-bad' : ''}`, requestedBy: 'bench', source: 'cli' });
        ids[i] = started.workflowId;
      } else {
        const h = await client.workflow.start('minimalWorkflow', { taskQueue, workflowId: `minimal-${tag}-${i}`, args: [spec.shape!] });
        ids[i] = h.workflowId;
      }
    });
    const startedAllS = (Date.now() - clock.firstStart) / 1000;
    await Promise.all(
      ids.map(async (id) => {
        const r = (await client.workflow.getHandle(id).result()) as { status?: string };
        const s = spec.workflow === 'release' ? (r.status ?? '?') : 'completed';
        statuses[s] = (statuses[s] ?? 0) + 1;
        clock.lastClose = Math.max(clock.lastClose, Date.now());
      }),
    );
    console.log(
      `  ${spec.label}: ${spec.n} started in ${startedAllS.toFixed(1)} s, all closed ${((clock.lastClose - clock.firstStart) / 1000).toFixed(1)} s after the first start`,
    );
  } finally {
    clearInterval(sampler);
    await worker.stop();
  }
  const facts = await histories(client, ids);
  const guardEvents = readEvents(eventsFile);
  const starts = guardEvents.filter((e) => e.t === 'start');
  const lateMs = starts.map((e) => e.lateMs ?? 0);
  const windowMs = WINDOW_S * 1000;
  const bad = ids.filter((_, i) => isBad(i)).length;
  const b2d = facts.map((f) => f.breachToDecisionMs).filter((x): x is number => x !== null);
  const wftTimeouts: Record<string, number> = {};
  for (const f of facts) for (const k of f.wftTimeouts) wftTimeouts[k.replace(/^TIMEOUT_TYPE_/, '')] = (wftTimeouts[k.replace(/^TIMEOUT_TYPE_/, '')] ?? 0) + 1;
  const avg = (k: (f: HistoryFacts) => number) => facts.reduce((s, f) => s + k(f), 0) / Math.max(facts.length, 1);
  const wallS = (clock.lastClose - clock.firstStart) / 1000;
  return {
    spec,
    wallS,
    perS: spec.n / wallS,
    statuses,
    rssPeakMb,
    wftTimeouts,
    wftWaitP99S:
      quantile(
        facts.flatMap((f) => f.wftWaitsMs),
        0.99,
      ) / 1000,
    eventsPerRun: avg((f) => f.events),
    upsertsPerRun: avg((f) => f.upserts),
    upsertsOfOne: facts.find((f, i) => !isBad(i) && f.upsertList.length > 0)?.upsertList ?? [],
    activitiesPerRun: avg((f) => f.activities),
    timersPerRun: avg((f) => f.timers),
    guardsScheduled: facts.reduce((s, f) => s + f.guards, 0),
    guardsStarted: starts.length,
    guardsLate: starts.filter((e) => (e.lateMs ?? 0) > POLL_S * 1000 + 250).length,
    guardsAfterWindow: starts.filter((e) => (e.lateMs ?? 0) > windowMs).length,
    guardLateP99S: quantile(lateMs, 0.99) / 1000,
    breachToDecisionS: b2d.map((x) => x / 1000),
    badCaughtByJudge: bad - b2d.length,
    bad,
  };
}

function printLevel(r: LevelResult): void {
  const { spec } = r;
  const st = Object.entries(r.statuses)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const to = Object.entries(r.wftTimeouts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  console.log(`  ${spec.label.padEnd(30)} ${spec.n} in ${r.wallS.toFixed(1)} s = ${f2(r.perS)}/s; worker RSS peak ${r.rssPeakMb.toFixed(0)} MB; ${st}`);
  console.log(
    `    per run: ${r.eventsPerRun.toFixed(1)} events, ${r.upsertsPerRun.toFixed(1)} upserts, ${r.activitiesPerRun.toFixed(1)} activities, ${r.timersPerRun.toFixed(1)} timers; workflow-task timeouts: ${to || 'none'}; workflow task wait p99 ${f2(r.wftWaitP99S)} s`,
  );
  if (spec.workflow === 'release') {
    if (r.upsertsOfOne.length) console.log(`    one good release's ${r.upsertsOfOne.length} upserts: ${r.upsertsOfOne.map((u) => `[${u}]`).join(' ')}`);
    const never = r.guardsScheduled - r.guardsStarted;
    console.log(
      `    guards: ${r.guardsScheduled} scheduled, ${r.guardsStarted} started (${r.guardsLate} more than a poll late, ${r.guardsAfterWindow} after their window had ended; start delay p99 ${f2(r.guardLateP99S)} s), ${never} never started (window unwatched until the judge)`,
    );
    if (r.bad)
      console.log(
        `    bad releases ${r.bad}: ${r.breachToDecisionS.length} caught by the guard, ${r.badCaughtByJudge} only by the window judge; breach → decision median ${f2(quantile(r.breachToDecisionS, 0.5))} s, p99 ${f2(quantile(r.breachToDecisionS, 0.99))} s`,
      );
  }
}

/** The stack config (JSON is YAML) with `services` copies of the bench service, one release each. */
function levelConfig(dir: string, name: string, sandboxUrl: string, services: string[], minRequests: number): string {
  const sub = join(dir, name);
  mkdirSync(sub, { recursive: true });
  const file = writeStackConfig(sub, {
    sandboxUrl,
    taskQueue: 'unused',
    pollIntervalS: POLL_S,
    minRequests,
    dataDir: sub,
    stages: Array.from({ length: STAGES }, (_, i) => ({
      traffic_percent: i === STAGES - 1 ? 100 : Math.round((100 * (i + 1)) / STAGES),
      duration_minutes: WINDOW_S / 60,
    })),
  });
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  const one = doc.services.checkout;
  doc.services = Object.fromEntries(services.map((s) => [s, one]));
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(4, '0')}`);

async function main() {
  const dir = tempDir('quad-bench-throughput-');
  const testEnv = await localEnv();
  let sandbox: SandboxProcess | undefined;
  const loads: Load[] = [];
  try {
    const release = await bundleFile(dir.path);
    const minimal = join(dir.path, 'minimal-bundle.js');
    const { code } = await bundleWorkflowCode({
      workflowsPath: join(ROOT, 'bench', 'minimal-workflow.ts'),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    writeFileSync(minimal, code);
    const bundles = { release, minimal };
    const client = testEnv.client;
    const tuned = workerTuning(env);
    console.log(
      `bench:throughput  dev server ${testEnv.address}; ${STAGES} stages of ${WINDOW_S} s windows, poll ${POLL_S} s, ${BAD_PCT} % bad versions at the stub levels`,
    );
    console.log(
      `  worker slots: sdk = SDK defaults (100 activities, 40 workflow tasks, sticky 10 s); tuned = worker/tuning.ts (${tuned.maxConcurrentActivityTaskExecutions} activities, ${tuned.maxConcurrentWorkflowTaskExecutions} workflow tasks, sticky ${tuned.stickyQueueScheduleToStartTimeout}, ${tuned.maxCachedWorkflows} cached)`,
    );
    const results: LevelResult[] = [];
    const run = async (spec: LevelSpec) => {
      const r = await runLevel(client, testEnv.address, dir.path, spec, bundles);
      printLevel(r);
      results.push(r);
      return r;
    };

    if (SANDBOX_N > 0) {
      const services = names('sbx', SANDBOX_N);
      sandbox = await startSandboxProcess({ serve: Object.fromEntries(services.map((s) => [s, 'v1.0.0'])) });
      for (const s of services) loads.push(startLoad({ url: sandbox.url, rps: SANDBOX_RPS, maxDurationS: 3600, service: s }));
      await sleep(3000);
      const configFile = levelConfig(dir.path, 'sandbox', sandbox.url, services, 0);
      await run({ label: `sandbox real ×${SANDBOX_N} tuned`, workflow: 'release', activities: 'real', tuning: 'tuned', n: SANDBOX_N, configFile, services });
      await Promise.all(loads.map((l) => l.stop()));
      loads.length = 0;
      await sandbox.stop();
      sandbox = undefined;
    }

    const stubLevel = (n: number, tuning: Tuning) => {
      const services = names(`s${tuning[0]}${n}x`, n);
      const configFile = levelConfig(dir.path, `stub-${tuning}-${n}`, 'http://127.0.0.1:9', services, 100);
      return run({ label: `stub ×${n} ${tuning}`, workflow: 'release', activities: 'stub', tuning, n, configFile, services });
    };
    const byTuning: Record<Tuning, LevelResult[]> = { sdk: [], tuned: [] };
    for (const tuning of COMPARE ? (['sdk', 'tuned'] as const) : (['tuned'] as const))
      for (const n of LEVELS) byTuning[tuning].push(await stubLevel(n, tuning));

    const top = byTuning.tuned.find((r) => r.spec.n === N) ?? byTuning.tuned.at(-1)!;
    const shape = (parallel: boolean): MinimalShape => ({
      stages: STAGES,
      windowMs: WINDOW_S * 1000,
      activities: Math.round(top.activitiesPerRun),
      timers: Math.round(top.timersPerRun),
      parallel,
    });
    // one after another (as many workflow tasks as activities), and each stage's at once (the fewest): the faster is the floor
    const minimals = !MINIMAL
      ? []
      : [
          await run({
            label: `minimal sequential ×${top.spec.n}`,
            workflow: 'minimal',
            activities: 'stub',
            tuning: 'tuned',
            n: top.spec.n,
            shape: shape(false),
          }),
          await run({ label: `minimal parallel ×${top.spec.n}`, workflow: 'minimal', activities: 'stub', tuning: 'tuned', n: top.spec.n, shape: shape(true) }),
        ];
    const min = minimals.reduce<LevelResult | null>((a, b) => (!a || b.perS > a.perS ? b : a), null);
    const minPerS = min?.perS ?? NaN;

    if (COMPARE) {
      console.log('\nbefore (SDK defaults) → after (worker/tuning.ts):');
      for (const after of byTuning.tuned) {
        const before = byTuning.sdk.find((r) => r.spec.n === after.spec.n);
        if (!before) continue;
        const to = (r: LevelResult) => Object.values(r.wftTimeouts).reduce((a, b) => a + b, 0);
        const line = (what: string, b: string, a: string) => console.log(`  ${String(after.spec.n).padStart(5)} ${what.padEnd(34)} ${b.padStart(10)} → ${a}`);
        line('releases/s', f2(before.perS), f2(after.perS));
        line('workflow-task timeouts', String(to(before)), String(to(after)));
        line('workflow task wait p99 s', f2(before.wftWaitP99S), f2(after.wftWaitP99S));
        line('guards started after window end', String(before.guardsAfterWindow), String(after.guardsAfterWindow));
        line('guards never started', String(before.guardsScheduled - before.guardsStarted), String(after.guardsScheduled - after.guardsStarted));
        line('guard start delay p99 s', f2(before.guardLateP99S), f2(after.guardLateP99S));
        line('bad caught only by the judge', String(before.badCaughtByJudge), String(after.badCaughtByJudge));
        line('breach → decision p99 s', f2(quantile(before.breachToDecisionS, 0.99)), f2(quantile(after.breachToDecisionS, 0.99)));
        line('worker RSS peak MB', before.rssPeakMb.toFixed(0), after.rssPeakMb.toFixed(0));
      }
    }

    const rss1000 = byTuning.tuned.find((r) => r.spec.n === 1000)?.rssPeakMb;
    const rss100 = byTuning.tuned.find((r) => r.spec.n === 100)?.rssPeakMb;
    const b2d = top.breachToDecisionS;
    console.log(
      `\nat ${top.spec.n}: release ${f2(top.perS)}/s (stub activities${SANDBOX_N > 0 ? `; the sandbox level ran ${SANDBOX_N} real releases` : ''}), minimal ${f2(minPerS)}/s (${min?.spec.label ?? 'not run'}; ${minimals.map((m) => `${m.spec.label} ${f2(m.perS)}/s`).join(', ')}), ratio ${f2(top.perS / minPerS)}; ${top.eventsPerRun.toFixed(0)} vs ${min?.eventsPerRun.toFixed(0) ?? 'n/a'} events, ${top.upsertsPerRun.toFixed(1)} upserts per release`,
    );
    console.log(`worker RSS peak: ${rss100?.toFixed(0) ?? 'n/a'} MB at 100, ${rss1000?.toFixed(0) ?? 'n/a'} MB at 1000 concurrent releases (tuned)`);
    console.log(
      `breach → rollback decided at ${top.spec.n}: median ${f2(quantile(b2d, 0.5))} s, p99 ${f2(quantile(b2d, 0.99))} s over ${b2d.length} bad releases`,
    );
    console.log(
      `summary concurrent=${top.spec.n} releases_per_s=${f2(top.perS)} minimal_per_s=${f2(minPerS)} ratio=${f2(top.perS / minPerS)} rss_mb_1000=${rss1000?.toFixed(0) ?? 'n/a'} breach_to_decision_p99_s=${f2(quantile(b2d, 0.99))}`,
    );
  } finally {
    await Promise.all(loads.map((l) => l.stop()));
    await sandbox?.stop();
    await testEnv.teardown();
    dir.remove();
  }
}

main().catch((err) => {
  console.error(`bench:throughput failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
