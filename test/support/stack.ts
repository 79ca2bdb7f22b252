// The local stack as real processes, for the end-to-end tests and bench/release: the sandbox (router,
// version processes, load) and the worker, each a child process of its own so a test can kill -9 it.
// Children run `node --import tsx <file>` (not the tsx CLI, which forks a second process): the pid we
// hold is the process that does the work.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './temporal-servers';
import { workflowBundle } from './release-harness';

const MAX_OUTPUT = 256 * 1024;

export interface Child {
  pid: number;
  /** stdout + stderr so far (the last 256 KiB) */
  output(): string;
  /** resolves with the exit code (or signal name) once the process is gone */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone */
  stop(graceMs?: number): Promise<void>;
}

function startChild(file: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    if (out.length > MAX_OUTPUT) out = out.slice(-MAX_OUTPUT);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    pid: child.pid!,
    output: () => out,
    exited,
    kill: (signal = 'SIGTERM') => {
      if (!gone()) child.kill(signal);
    },
    async stop(graceMs = 10_000) {
      if (gone()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits until the child's output matches, failing early when it exits. */
async function waitForOutput(child: Child, pattern: RegExp, what: string, timeoutMs: number): Promise<RegExpMatchArray> {
  let exitedWith: number | string | null = null;
  void child.exited.then((c) => (exitedWith = c));
  const end = Date.now() + timeoutMs;
  for (;;) {
    const m = child.output().match(pattern);
    if (m) return m;
    if (exitedWith !== null) throw new Error(`${what} exited (${exitedWith}) before it was up:\n${child.output().slice(-3000)}`);
    if (Date.now() > end) {
      child.kill('SIGKILL');
      throw new Error(`${what} not up in ${timeoutMs} ms:\n${child.output().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---- sandbox -------------------------------------------------------------------------------------

export interface TrafficView {
  service: string;
  version: string;
  previousVersion: string | null;
  percent: number;
  changeCount: number;
}
export interface TrafficChange {
  seq: number;
  at: number;
  version: string;
  previousVersion: string | null;
  percent: number;
  /** a split by user (A/B) */
  sticky?: boolean;
}
export interface VersionView {
  version: string;
  state: string;
  requests: number;
  errors: number;
  firstRequestAt: number | null;
  firstErrorAt: number | null;
}

export interface SandboxProcess extends Child {
  /** router URL; the admin API is under /admin on the same port */
  url: string;
  traffic(service: string): Promise<TrafficView>;
  changes(service: string): Promise<TrafficChange[]>;
  versions(service: string): Promise<VersionView[]>;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/**
 * The sandbox on a free port serving `serve` (e.g. { checkout: 'v1.2.2' }), with load when `loadRps` is set.
 * `flagsFile` (the config's providers.file_flags.path) makes it apply those flags per user and report
 * their on / off sides in its stats.
 */
export async function startSandboxProcess(opts: {
  serve: Record<string, string>;
  loadRps?: number;
  loadMaxS?: number;
  port?: number;
  flagsFile?: string;
}): Promise<SandboxProcess> {
  const args = ['--port', String(opts.port ?? 0), ...Object.entries(opts.serve).flatMap(([s, v]) => ['--serve', `${s}=${v}`])];
  if (opts.loadRps) args.push('--load-rps', String(opts.loadRps), '--load-max-s', String(opts.loadMaxS ?? 3600));
  if (opts.flagsFile) args.push('--flags-file', opts.flagsFile);
  const child = startChild('sandbox/main.ts', args, process.env);
  const m = await waitForOutput(child, /^\{"sandbox":"up".*$/m, 'sandbox', 30_000);
  const { url } = JSON.parse(m[0]) as { url: string };
  const svc = (s: string) => `${url}/admin/services/${encodeURIComponent(s)}`;
  return {
    ...child,
    url,
    traffic: (s) => getJson<TrafficView>(`${svc(s)}/traffic`),
    changes: async (s) => (await getJson<{ changes: TrafficChange[] }>(`${svc(s)}/changes`)).changes,
    versions: async (s) => (await getJson<{ versions: VersionView[] }>(`${svc(s)}/versions`)).versions,
  };
}

// ---- worker --------------------------------------------------------------------------------------

export interface WorkerOptions {
  configFile: string;
  address: string;
  taskQueue: string;
  namespace?: string;
  /** a prebuilt workflow bundle (see bundleFile); without one the worker bundles on start (seconds) */
  bundle?: string;
  /** extra environment */
  env?: NodeJS.ProcessEnv;
}

/** `tsx worker/main.ts` as the README runs it, connected through the environment; resolves once it polls. */
export async function startWorkerProcess(opts: WorkerOptions): Promise<Child> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    QUAD_CONFIG: opts.configFile,
    TEMPORAL_ADDRESS: opts.address,
    TEMPORAL_NAMESPACE: opts.namespace ?? 'default',
    TEMPORAL_TASK_QUEUE: opts.taskQueue,
    QUAD_LOG_LEVEL: 'WARN',
    ...(opts.bundle ? { QUAD_WORKFLOW_BUNDLE: opts.bundle } : {}),
    ...opts.env,
  };
  const child = startChild('worker/main.ts', [], env);
  await waitForOutput(child, /\[quad\] worker \d+ on .*RUNNING/, 'worker', 90_000);
  return child;
}

// ---- config and bundle -----------------------------------------------------------------------------

export interface StackConfig {
  sandboxUrl: string;
  taskQueue: string;
  address?: string;
  webUiUrl?: string;
  pollIntervalS: number;
  minRequests: number;
  /** e.g. [{ traffic_percent: 25, duration_minutes: 0.1 }, { traffic_percent: 100 }] */
  stages: Array<{ traffic_percent: number; duration_minutes?: number }>;
  /** notices and incidents are written here */
  dataDir: string;
  /** the bake after the full rollout; 0 (none) unless a test is about it */
  bakeMinutes?: number;
  /** the service's strategy (default canary) and its smoke checks */
  strategy?: 'canary' | 'blue-green' | 'ab';
  smokeChecks?: Array<{ name: string; kind: 'http' | 'command'; args: Record<string, string | string[]> }>;
}

/** A config file for the stack (JSON is YAML): the sandbox URL, windows and files for this run only. */
export function writeStackConfig(dir: string, c: StackConfig): string {
  const doc = {
    release_management: { approval_required: false },
    deployments: {
      auto_rollback_on_error: true,
      error_rate_threshold: 1.0,
      latency_threshold_ms: 250,
      max_deployment_duration_minutes: 30,
      bake_minutes: c.bakeMinutes ?? 0,
    },
    notifications: { file: join(c.dataDir, 'notices.jsonl') },
    temporal: { address: c.address ?? '127.0.0.1:7233', task_queue: c.taskQueue, web_ui_url: c.webUiUrl ?? 'http://127.0.0.1:8233' },
    providers: {
      sandbox: { url: c.sandboxUrl },
      file_flags: { path: join(c.dataDir, 'flags.json') },
      incidents: { type: 'file', path: join(c.dataDir, 'incidents.jsonl') },
    },
    services: {
      checkout: {
        strategy: c.strategy ?? 'canary',
        ...(c.smokeChecks ? { smoke_checks: c.smokeChecks } : {}),
        approvers: ['ana'],
        poll_interval_seconds: c.pollIntervalS,
        min_requests: c.minRequests,
        rollout_plan: c.stages,
      },
    },
  };
  const file = join(dir, 'quad.yml');
  writeFileSync(file, JSON.stringify(doc, null, 2));
  return file;
}

export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The workflow bundle written to a file once, so every worker process started from it is up in a second. */
export async function bundleFile(dir: string): Promise<string> {
  const { code } = await workflowBundle();
  const file = join(dir, 'workflow-bundle.js');
  writeFileSync(file, code);
  return file;
}
