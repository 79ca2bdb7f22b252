// One sandbox service: its traffic split (absolute, idempotent, every real change recorded), the
// versions it has run (process + request log), the weighted pick the router asks for per request (by a
// stable hash of the user when the split is sticky), and the request logs of each feature flag's two
// sides (the users it was on for, and off for). A version that leaves the split keeps running until an
// explicit retire (so a revert finds it warm), unless the sandbox was given a retire grace period.
import { behaviourFor, type VersionBehaviour } from './behaviour';
import { RequestLog, type VariantSource } from './stats';
import { VersionProcess } from './version-process';

export interface TrafficSplit {
  /** the version being released: gets `percent` % */
  version: string;
  /** the version serving the rest; null = only `version` exists, it gets everything */
  previousVersion: string | null;
  percent: number;
  /** a request with a user ID goes to the side its hash falls on, the same for that user while the split holds */
  sticky?: boolean;
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
    /** null: a version that leaves the split runs until retireNow() */
    private readonly retireAfterMs: number | null = null,
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
    const next: TrafficSplit = { version: split.version, previousVersion: split.previousVersion, percent: split.percent, sticky: split.sticky === true };
    if (
      current &&
      current.version === next.version &&
      current.previousVersion === next.previousVersion &&
      current.percent === next.percent &&
      current.sticky === next.sticky
    ) {
      return null;
    }
    const change: TrafficChange = { ...next, seq: this.changes.length + 1, at: Date.now(), before: current };
    this.traffic = next;
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

  /** The version the next request goes to; `user` (the request's user ID) counts only on a sticky split. */
  pick(user?: string): string | null {
    const t = this.traffic;
    if (!t) return null;
    if (t.previousVersion === null) return t.version;
    if (t.sticky && user) return stickyPoint(this.name, user) < t.percent ? t.version : t.previousVersion;
    this.credit += t.percent;
    if (this.credit >= 100) {
      this.credit -= 100;
      return t.version;
    }
    return t.previousVersion;
  }

  /** With a grace period: stop processes no longer in the split once it has passed. Without: nothing (retireNow does it). */
  private retireUnreferenced(): void {
    const retireAfterMs = this.retireAfterMs;
    if (retireAfterMs === null) return;
    const referenced = new Set([this.traffic?.version, this.traffic?.previousVersion]);
    for (const [version, entry] of this.versions) {
      if (referenced.has(version)) {
        if (entry.retireTimer) clearTimeout(entry.retireTimer);
        entry.retireTimer = null;
      } else if (!entry.retireTimer && entry.process.state !== 'stopped') {
        entry.retireTimer = setTimeout(() => {
          entry.retireTimer = null;
          void entry.process.stop();
        }, retireAfterMs);
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

/**
 * Where a user falls in [0, 100): FNV-1a (32 bit) of service and user. Not salted by version, so a user
 * in the new version at 10 % stays in it at 50 % (a ramp only adds users to B, never swaps them).
 */
export function stickyPoint(service: string, user: string): number {
  let hash = 0x811c9dc5;
  const text = `${service}\u0000${user}`;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash / 2 ** 32) * 100;
}
