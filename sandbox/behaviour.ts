// How a sandbox version behaves. The default comes from the version string so a demo needs no config:
// `-bad` serves 8 % errors, `-slow` adds 300 ms; config can override per version. Feature flags work the
// same way by name: `new-checkout-bad` fails 8 % of the requests it is on for, `dark_mode_slow` slows them.

export interface VersionBehaviour {
  /** fraction of requests answered with HTTP 500 (0..1) */
  errorRate: number;
  /** added to every request's latency */
  extraLatencyMs: number;
  /** a healthy request's latency: base plus exponential jitter with this mean */
  baseLatencyMs: number;
  jitterMeanMs: number;
}

export const HEALTHY: VersionBehaviour = { errorRate: 0, extraLatencyMs: 0, baseLatencyMs: 2, jitterMeanMs: 2 };
export const BAD_ERROR_RATE = 0.08;
export const SLOW_EXTRA_MS = 300;

/** Versions the sandbox accepts: they end up in process arguments, logs and URLs, so keep them plain. */
export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
export const SERVICE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function behaviourFor(version: string, overrides?: Partial<VersionBehaviour>): VersionBehaviour {
  // Suffix markers, e.g. v1.2.4-bad, v1.2.4-slow, v1.2.4-bad-slow, v1.2.4-bad.2
  const markers = new Set(version.toLowerCase().split(/[-+.]/));
  return {
    ...HEALTHY,
    errorRate: markers.has('bad') ? BAD_ERROR_RATE : 0,
    extraLatencyMs: markers.has('slow') ? SLOW_EXTRA_MS : 0,
    ...overrides,
  };
}

/** What a feature flag does to a request it is ON for. */
export interface FlagBehaviour {
  errorRate: number;
  extraLatencyMs: number;
}

export function flagBehaviourFor(name: string): FlagBehaviour {
  // Markers anywhere in the name, e.g. dark_mode_bad, new-checkout-bad, search.slow, promo+bad+slow
  const markers = new Set(name.toLowerCase().split(/[-_.+]/));
  return {
    errorRate: markers.has('bad') ? BAD_ERROR_RATE : 0,
    extraLatencyMs: markers.has('slow') ? SLOW_EXTRA_MS : 0,
  };
}
