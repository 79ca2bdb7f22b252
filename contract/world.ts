// What a deploy or flag step is about and what it leaves: crosses the workflow/activity boundary.
// Serializable and secret-free.

/** Who and what a deploy step is about: everything a deployer needs, nothing secret. */
export interface TrafficTarget {
  service: string;
  /** the version being released (canary side) */
  version: string;
  /** the version currently serving (baseline side); null for a first release */
  previousVersion: string | null;
  /** for region rollouts; undefined = the service's only / default region */
  region?: string;
  /** A/B tests: each user sees one side for as long as the split holds, not a coin per request */
  sticky?: boolean;
}

export interface TrafficState {
  /** percent of traffic on `version` (0..100) */
  percent: number;
  version: string;
  previousVersion: string | null;
}

/** A flag's full state in one environment, enough for undo to restore it exactly. */
export interface FlagState {
  flag: string;
  exists: boolean;
  enabled: boolean;
  /** percent of users in the rollout (0..100), null when the flag has no percentage rollout */
  rolloutPercent: number | null;
  /** provider-specific snapshot of everything else (strategies, variations); opaque to the workflow */
  snapshot?: unknown;
}

/** One finding of a deployer's `check`: can it reach the platform, do the objects exist, may it act. */
export interface DeployCheck {
  /** e.g. "reach the API server", "deployment shop/checkout exists", "may patch httproutes" */
  name: string;
  ok: boolean;
  /** what was found, or what to fix (the missing permission, the object's name); never a secret */
  detail: string;
}

/** A service's deployer checks, as the worker that holds its credentials ran them. */
export interface DeployCheckReport {
  service: string;
  deployer: string;
  checks: DeployCheck[];
}
