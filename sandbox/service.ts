// One sandbox service: its traffic split (absolute, idempotent, every real change recorded), the
// versions it has run (process + request log), the weighted pick the router asks for per request (on a
// sticky split, the side a user was assigned the first time it was seen), and the request logs of each
// feature flag's two sides (the users it was on for, and off for). A version that leaves the split keeps
// running until an explicit retire (so a revert finds it warm), unless the sandbox was given a retire
// grace period.
//
// Sticky assignment: a user seen for the first time under a sticky split is given a side by the same
// error diffusion the plain split uses for requests (its own credit), and remembered for as long as the
// split's percent and versions hold. So first-seen users go B/A in exactly the configured proportion: at
// 50 %, 1,000 users split 500/500. A real router hashes the user instead, which is exact enough over
// millions of users; the sandbox has about a thousand, where a hash lands e.g. 44.5 % of them on B, and an
// A/B test's sample ratio mismatch check would rightly stop a healthy test on that. A change of percent
// or versions starts a fresh assignment (the old one does not hold the new share), so in the sandbox a
// sticky ramp may move a user between sides; a change of stickiness alone keeps it. The memory is
// bounded (least recently seen user forgotten first, MAX_STICKY_USERS).
import { behaviourFor, type VersionBehaviour } from './behaviour';
import { RequestLog, type VariantSource } from './stats';
import { VersionProcess } from './version-process';

/** Most users a sticky split remembers; beyond it the least recently seen is forgotten (and reassigned if it returns). */
export const MAX_STICKY_USERS = 200_000;

/** 100 less a float's rounding, so a fractional percent (33.3) gives floor(n × percent / 100) of n exactly */
const FULL = 100 - 1e-9;

export interface TrafficSplit {
  /** the version being released: gets `percent` % */
  version: string;
  /** the version serving the rest; null = only `version` exists, it gets everything */
  previousVersion: string | null;
  percent: number;
  /** a request with a user ID goes to the side that user was assigned when first seen, the same while the split holds */
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
  /** sticky split: user → assigned to `version` (true) or to `previousVersion`, most recently seen last */
  private readonly assigned = new Map<string, boolean>();
  /** error diffusion over first-seen users, apart from the requests' own */
  private userCredit = 0;

  constructor(
    readonly name: string,
    private readonly behaviours: Record<string, Partial<VersionBehaviour>>,
    /** null: a version that leaves the split runs until retireNow() */
    private readonly retireAfterMs: number | null = null,
    /** most users a sticky split remembers */
    private readonly maxStickyUsers = MAX_STICKY_USERS,
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
    if (!current || current.version !== next.version || current.previousVersion !== next.previousVersion || current.percent !== next.percent) {
      this.assigned.clear();
      this.userCredit = 0;
    }
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
    if (t.sticky && user) return this.assignedToB(user, t.percent) ? t.version : t.previousVersion;
    this.credit += t.percent;
    if (this.credit >= FULL) {
      this.credit -= 100;
      return t.version;
    }
    return t.previousVersion;
  }

  /** Users remembered for the current sticky split (tests). */
  get stickyUsers(): number {
    return this.assigned.size;
  }

  /** The side a user was given when first seen under this split; a new user gets the next by error diffusion. */
  private assignedToB(user: string, percent: number): boolean {
    const known = this.assigned.get(user);
    if (known !== undefined) {
      // most recently seen last, so the oldest is forgotten first when full
      this.assigned.delete(user);
      this.assigned.set(user, known);
      return known;
    }
    this.userCredit += percent;
    const onB = this.userCredit >= FULL;
    if (onB) this.userCredit -= 100;
    if (this.assigned.size >= this.maxStickyUsers) {
      const oldest = this.assigned.keys().next();
      if (!oldest.done) this.assigned.delete(oldest.value);
    }
    this.assigned.set(user, onB);
    return onB;
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
