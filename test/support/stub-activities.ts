// Activities for time-skipping workflow tests. They answer at once: a running activity holds the test
// server's time-skipping lock, so the real, polling guard is tested at the activity level and on the dev
// server instead. They record every call, so tests assert what the workflow did to the world.
import { ApplicationFailure } from '@temporalio/common';
import type { ReleaseActivities, GuardOutcome } from '../../contract/activities';
import type { Verdict, VerdictKind } from '../../contract/verdict';
import type { Notice, FlagState } from '../../activities/providers/types';
import { nextSlot } from '../../activities/release-calendar';

export interface StubScript {
  /** stages whose judge fails (the metrics source is down) */
  judgeFails?: string[];
  /** stages (or "stage@region") whose guard reports a breach */
  breachAt?: string[];
  /** stage name → the judge's verdicts, one per window (the last repeats) */
  verdicts?: Record<string, VerdictKind[]>;
  gateFails?: string[];
  serving?: string | null;
  failNotifier?: string;
  flag?: FlagState;
  /** undo steps that keep failing: 'traffic' (the restore to 0 %) or a dependency's `undo <name>` */
  failUndo?: string[];
  /** prepare throws DeployNotReady with this reason */
  notReady?: string;
  /** how the A/B test ends (default ship_b) */
  ab?: 'ship_b' | 'keep_a' | 'stop_srm';
  /** smoke checks (by name) that fail against the new version's endpoint */
  smokeFails?: string[];
}

export function verdict(kind: VerdictKind, explanation = `judge says ${kind}`): Verdict {
  return { verdict: kind, explanation, findings: [], canaryRequests: kind === 'INCONCLUSIVE' ? 3 : 5000, intervals: 90 };
}

export function stubActivities(script: StubScript = {}) {
  const calls = {
    traffic: [] as number[],
    /** region:percent, for by-region releases */
    regional: [] as string[],
    notices: [] as Notice[],
    incidents: [] as string[],
    judged: [] as string[],
    guards: [] as string[],
    steps: [] as string[],
    /** gates checked, by name, each time */
    gates: [] as string[],
    flags: [] as (number | 'restored')[],
    /** the deployer lifecycle's other steps, in order: prepare, promote, retire (revert is a traffic change to 0) */
    lifecycle: [] as string[],
    /** the sides each guard and judge was asked to compare: "canary vs baseline" */
    watched: [] as string[],
  };
  const judgedCount: Record<string, number> = {};
  let flag: FlagState = script.flag ?? { flag: 'dark_mode', exists: true, enabled: false, rolloutPercent: 0 };
  const acts: ReleaseActivities = {
    async checkGate(_s, _v, gate) {
      calls.gates.push(gate.name);
      const ok = !(script.gateFails ?? []).includes(gate.name);
      return { ok, detail: ok ? 'ok' : 'not ok' };
    },
    async nextWindowStart(_w, now) {
      return now;
    },
    // the real calendar (a pure function of the plan and the time): time-skipping tests wait for real windows
    releaseSlot: async (calendar, now, needMs) => nextSlot(calendar, now, needMs),
    async runStep(_s, _v, step) {
      calls.steps.push(step.name);
      if ((script.failUndo ?? []).includes(step.name)) throw new Error(`${step.name}: the database refused the connection`);
      return 'done';
    },
    async servingVersion() {
      return script.serving === undefined ? 'v1.2.2' : script.serving;
    },
    async setTraffic(target, percent) {
      calls.traffic.push(percent);
      if (percent === 0 && (script.failUndo ?? []).includes('traffic')) throw new Error('the load balancer answered 503');
      if (target.region) calls.regional.push(`${target.region}:${percent}`);
      return { percent, version: target.version, previousVersion: target.previousVersion };
    },
    async prepare(target) {
      calls.lifecycle.push(`prepare ${target.version}${target.region ? `@${target.region}` : ''}`);
      if (script.notReady) throw ApplicationFailure.nonRetryable(`${target.version} never became ready: ${script.notReady}`, 'DeployNotReady');
      return { detail: `${target.version} ready` };
    },
    async smokeCheck(target, gate) {
      calls.lifecycle.push(`smoke ${gate.name} ${target.version}${target.region ? `@${target.region}` : ''}`);
      const ok = !(script.smokeFails ?? []).includes(gate.name);
      return { ok, detail: ok ? `GET http://green/${target.version} → 200` : `GET http://green/${target.version} → 503` };
    },
    async promote(target) {
      calls.lifecycle.push(`promote ${target.version}${target.region ? `@${target.region}` : ''}`);
      return { percent: 100, version: target.version, previousVersion: null };
    },
    async retire(target) {
      calls.lifecycle.push(`retire${target.region ? `@${target.region}` : ''}`);
      return { detail: 'retired' };
    },
    async revert(target) {
      calls.traffic.push(0);
      if (target.region) calls.regional.push(`${target.region}:0`);
      if ((script.failUndo ?? []).includes('traffic')) throw new Error('the load balancer answered 503');
      return { percent: 0, version: target.version, previousVersion: target.previousVersion };
    },
    async checkDeployers(services) {
      return services.map((service) => ({ service, deployer: 'stub', checks: [{ name: `stub deployer for ${service}`, ok: true, detail: 'stub' }] }));
    },
    async getFlagState() {
      return flag;
    },
    async setFlag(_s, name, percent) {
      calls.flags.push(percent);
      flag = { flag: name, exists: true, enabled: true, rolloutPercent: percent };
      return flag;
    },
    async restoreFlag(_s, state) {
      calls.flags.push('restored');
      flag = state;
      return state;
    },
    async guard(input): Promise<GuardOutcome> {
      calls.guards.push(input.stage);
      calls.watched.push(`${input.version} vs ${input.previousVersion}`);
      const where = input.region ? `${input.stage}@${input.region}` : input.stage;
      if ((script.breachAt ?? []).includes(where)) {
        return {
          kind: 'breach',
          at: input.from,
          polls: 2,
          breach: {
            kind: 'breach',
            explanation: `error rate 8 % vs baseline 0.1 % at ${input.stage}`,
            interval: 1,
            findings: [{ metric: 'error_rate', status: 'breach', canary: 8, baseline: 0.1, explanation: 'error rate 8 %' }],
          },
        };
      }
      return { kind: 'quiet', polls: 0 };
    },
    async releaseChanges(source, _service, version, previous) {
      return {
        summary: '2 features, 1 bug fix',
        features: 2,
        fixes: 1,
        other: 0,
        direct: 0,
        items: [{ kind: 'feature', number: 21, title: 'Faster <cart> & coupons', url: `https://github.com/${source.repo}/pull/21` }],
        url: `https://github.com/${source.repo}/compare/${previous}...${version}`,
      };
    },
    async abTest(input) {
      calls.guards.push(`ab ${input.version} vs ${input.previousVersion}${input.region ? `@${input.region}` : ''}`);
      const kind = script.ab ?? 'ship_b';
      const words = { ship_b: 'shipping B', keep_a: 'keeping A', stop_srm: 'sample ratio mismatch' }[kind];
      return {
        kind,
        text: `B converts 3.41 % vs A 3.31 % (+3.0 %, 95 % confidence sequence +0.8 % to +5.2 %): ${words}`,
        rateA: 0.0331,
        rateB: 0.0341,
        lift: 0.03,
        liftLow: 0.008,
        liftHigh: 0.052,
        visitsA: 1e6,
        visitsB: 1e6,
        polls: 40,
      };
    },
    async judge(input) {
      calls.judged.push(input.stage);
      calls.watched.push(`${input.version} vs ${input.previousVersion}`);
      if ((script.judgeFails ?? []).includes(input.stage))
        throw ApplicationFailure.nonRetryable('CloudWatch answered 503 Service Unavailable', 'MetricsUnavailable');
      const list = script.verdicts?.[input.stage] ?? ['PASS'];
      const n = (judgedCount[input.stage] = (judgedCount[input.stage] ?? 0) + 1);
      return verdict(list[Math.min(n - 1, list.length - 1)]);
    },
    async notify(names, notice, refs) {
      calls.notices.push({ ...notice, ...(refs.console ? { ref: refs.console } : {}) });
      const failed = names.filter((n) => n === script.failNotifier).map((n) => ({ notifier: n, error: `${n} is down` }));
      return { refs: Object.fromEntries(names.filter((n) => n !== script.failNotifier).map((n) => [n, `${n}-msg-1`])), failed };
    },
    async openIncident(inc) {
      calls.incidents.push(`${inc.title} | ${inc.rootCauseHint}${inc.changes ? ` | ${inc.changes}` : ''}`);
      return 'INC-1';
    },
  };
  return { acts, calls };
}
