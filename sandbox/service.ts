// One sandbox service: its traffic split (absolute, idempotent, every real change recorded), the
// versions it has run (process + request log), the weighted pick the router asks for per request, and
// the request logs of each feature flag's two sides (the users it was on for, and off for).
import { behaviourFor, type VersionBehaviour } from './behaviour';
import { RequestLog, type VariantSource } from './stats';
import { VersionProcess } from './version-process';

export interface TrafficSplit {
  /** the version being released: gets `percent` % */
  version: string;
  /** the version serving the rest; null = only `version` exists, it gets everything */
  previousVersion: string | null;
  percent: number;
}

export interface TrafficChange extends TrafficSplit {
  /** 1, 2, 3… per service */
  seq: number;
  at: number;
  before: TrafficSplit | null;
}

export interface VersionEntry {
  process: VersionProcess;
  log: RequestLog;
  retireTimer: NodeJS.Timeout | null;
}

export class SandboxService {
  traffic: TrafficSplit | null = null;
  readonly changes: TrafficChange[] = [];
  readonly versions = new Map<string, VersionEntry>();
  /** per flag name: requests from users it was on for / off for */
  readonly flags = new Map<string, { on: RequestLog; off: RequestLog }>();
  /** error diffusion: exact proportions, no randomness in who gets which request */
  private credit = 0;

  constructor(
    readonly name: string,
    private readonly behaviours: Record<string, Partial<VersionBehaviour>>,
    private readonly retireAfterMs: number,
  ) {}

  entry(version: string): VersionEntry {
    let entry = this.versions.get(version);
    if (!entry) {
      const process = new VersionProcess(this.name, version, behaviourFor(version, this.behaviours[version]));
      entry = { process, log: new RequestLog(), retireTimer: null };
      this.versions.set(version, entry);
    }
    return entry;
  }

  flagLog(name: string, on: boolean): RequestLog {
    let logs = this.flags.get(name);
    if (!logs) {
      logs = { on: new RequestLog(), off: new RequestLog() };
      this.flags.set(name, logs);
    }
    return on ? logs.on : logs.off;
  }

  /** Stats keys `flag:<name>=on` / `flag:<name>=off` (versions cannot hold ':' or '=', so no clash). */
  flagVariants(): VariantSource[] {
    return [...this.flags].flatMap(([name, logs]) => [
      { key: `flag:${name}=on`, log: logs.on },
      { key: `flag:${name}=off`, log: logs.off },
    ]);
  }

  /** Sets the split. Returns the change, or null when the split already was exactly this. */
  setTraffic(split: TrafficSplit): TrafficChange | null {
    const current = this.traffic;
    if (current && current.version === split.version && current.previousVersion === split.previousVersion && current.percent === split.percent) {
      return null;
    }
    const change: TrafficChange = { ...split, seq: this.changes.length + 1, at: Date.now(), before: current };
    this.traffic = { ...split };
    this.changes.push(change);
    this.credit = 0;
    this.retireUnreferenced();
    return change;
  }

  /** Versions that get a share of traffic under the current split. */
  servingVersions(): string[] {
    const t = this.traffic;
    if (!t) return [];
    if (t.previousVersion === null) return [t.version];
    const serving: string[] = [];
    if (t.percent > 0) serving.push(t.version);
    if (t.percent < 100) serving.push(t.previousVersion);
    return serving;
  }

  /** The version the next request goes to. */
  pick(): string | null {
    const t = this.traffic;
    if (!t) return null;
    if (t.previousVersion === null) return t.version;
    this.credit += t.percent;
    if (this.credit >= 100) {
      this.credit -= 100;
      return t.version;
    }
    return t.previousVersion;
  }

  /** Stop processes no longer in the split, after a grace period for requests in flight. */
  private retireUnreferenced(): void {
    const referenced = new Set([this.traffic?.version, this.traffic?.previousVersion]);
    for (const [version, entry] of this.versions) {
      if (referenced.has(version)) {
        if (entry.retireTimer) clearTimeout(entry.retireTimer);
        entry.retireTimer = null;
      } else if (!entry.retireTimer && entry.process.state !== 'stopped') {
        entry.retireTimer = setTimeout(() => {
          entry.retireTimer = null;
          void entry.process.stop();
        }, this.retireAfterMs);
        entry.retireTimer.unref();
      }
    }
  }

  /** Stops every version the split does not route to (no grace: what they served has drained). */
  async retireNow(): Promise<string[]> {
    const serving = new Set(this.servingVersions());
    const idle = [...this.versions].filter(([v, e]) => !serving.has(v) && e.process.state !== 'stopped');
    for (const [, e] of idle) {
      if (e.retireTimer) clearTimeout(e.retireTimer);
      e.retireTimer = null;
    }
    await Promise.all(idle.map(([, e]) => e.process.stop()));
    return idle.map(([v]) => v);
  }

  async stop(): Promise<void> {
    for (const entry of this.versions.values()) {
      if (entry.retireTimer) clearTimeout(entry.retireTimer);
      entry.retireTimer = null;
    }
    await Promise.all([...this.versions.values()].map((e) => e.process.stop()));
  }
}
