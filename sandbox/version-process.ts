// The parent's handle on one version's process: start on demand, wait until it listens, collect its
// CPU/RSS reports, restart on the next request if it died, stop it when it is no longer routed to.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { VersionBehaviour } from './behaviour';
import { LineLog, parseVersionLogLine } from './logs';

export interface UsageSample {
  /** the span the CPU figure is averaged over: [since, at] */
  since: number;
  at: number;
  cpuPct: number;
  rssMb: number;
}

/**
 * The samples whose span [since, at] overlaps [from, to): a process the machine starved for longer than
 * an interval reports late, and that report is what was measured over the interval it missed.
 */
export function usageOverlapping(samples: UsageSample[], from: number, to: number): UsageSample[] {
  return samples.filter((s) => s.at >= from && s.since < to);
}

export type ProcessState = 'stopped' | 'starting' | 'running';

const CHILD_SCRIPT = path.join(__dirname, 'version-server.mts');
const START_TIMEOUT_MS = 10_000;
const USAGE_RETENTION_MS = 30 * 60_000;

/** Node >= 22.18 runs .ts by stripping types (fast); older ones go through tsx. */
function childExecArgv(): string[] {
  const features = process.features as { typescript?: string | false };
  return features.typescript ? ['--disable-warning=ExperimentalWarning'] : ['--import', 'tsx'];
}

export class VersionProcess {
  state: ProcessState = 'stopped';
  port = 0;
  pid: number | null = null;
  starts = 0;
  readonly usage: UsageSample[] = [];
  /** what the version wrote to stdout, across restarts (a real log store keeps a crashed pod's lines too) */
  readonly logs = new LineLog();
  private child: ChildProcess | null = null;
  private ready: Promise<number> | null = null;

  constructor(
    readonly service: string,
    readonly version: string,
    readonly behaviour: VersionBehaviour,
  ) {}

  /** The port of a running process, starting one if needed. */
  ensureRunning(): Promise<number> {
    if (this.ready) return this.ready;
    this.state = 'starting';
    this.starts += 1;
    // service and version in argv only so `ps` shows which process is which
    const child = fork(CHILD_SCRIPT, ['--service', this.service, '--version', this.version], {
      execArgv: childExecArgv(),
      env: {
        PATH: process.env.PATH,
        QUAD_SANDBOX_SERVICE: this.service,
        QUAD_SANDBOX_VERSION: this.version,
        QUAD_SANDBOX_BEHAVIOUR: JSON.stringify(this.behaviour),
      },
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    // its log lines, as a log agent would collect them
    createInterface({ input: child.stdout! }).on('line', (text) => {
      const line = parseVersionLogLine(text);
      if (line) this.logs.add(line);
    });
    this.child = child;
    this.pid = child.pid ?? null;
    const ready = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${this.service}@${this.version} did not start within ${START_TIMEOUT_MS} ms`));
        child.kill('SIGKILL');
      }, START_TIMEOUT_MS);
      child.on('message', (message: { type: string; port?: number; since?: number; at?: number; cpuPct?: number; rssMb?: number }) => {
        if (message.type === 'ready' && message.port) {
          clearTimeout(timer);
          this.port = message.port;
          this.state = 'running';
          resolve(message.port);
        } else if (message.type === 'usage') {
          const at = message.at ?? Date.now();
          this.recordUsage({ since: message.since ?? at, at, cpuPct: message.cpuPct ?? 0, rssMb: message.rssMb ?? 0 });
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.service}@${this.version} exited (${signal ?? code}) before it was ready`));
        // only forget it if it is still the current child (a restart may already be under way)
        if (this.child === child) {
          this.child = null;
          this.ready = null;
          this.state = 'stopped';
          this.pid = null;
        }
      });
    });
    // a failed start must not stick: the next request tries again
    ready.catch(() => undefined);
    this.ready = ready;
    return ready;
  }

  private recordUsage(sample: UsageSample): void {
    this.usage.push(sample);
    const cutoff = sample.at - USAGE_RETENTION_MS;
    while (this.usage.length > 0 && this.usage[0].at < cutoff) this.usage.shift();
  }

  /** Usage samples that measured part of [from, to). */
  usageBetween(from: number, to: number): UsageSample[] {
    return usageOverlapping(this.usage, from, to);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    this.ready = null;
    this.state = 'stopped';
    this.pid = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 2000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}
