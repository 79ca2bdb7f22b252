// How a sandbox version behaves. The default comes from the version string so a demo needs no config:
// `-bad` serves 8 % errors, `-slow` adds 300 ms, `-convertN` / `-loseN` make a visit convert N % more /
// less often (relative to the 3 % base, for A/B tests); config can override per version. Feature flags work the
// same way by name: `new-checkout-bad` fails 8 % of the requests it is on for, `dark_mode_slow` slows them.

export interface VersionBehaviour {
  /** fraction of requests answered with HTTP 500 (0..1) */
  errorRate: number;
  /** added to every request's latency */
  extraLatencyMs: number;
  /** a healthy request's latency: base plus exponential jitter with this mean */
  baseLatencyMs: number;
  jitterMeanMs: number;
  /** chance (0..1) that a successful (non-5xx) visit converts; the router decides and records it */
  conversionRate: number;
}

export const BASE_CONVERSION_RATE = 0.03;
export const HEALTHY: VersionBehaviour = { errorRate: 0, extraLatencyMs: 0, baseLatencyMs: 2, jitterMeanMs: 2, conversionRate: BASE_CONVERSION_RATE };
export const BAD_ERROR_RATE = 0.08;
export const SLOW_EXTRA_MS = 300;

/** Versions the sandbox accepts: they end up in process arguments, logs and URLs, so keep them plain. */
export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
export const SERVICE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** The conversion rate markers ask for: `convertN` N % more often, `loseN` N % less (relative), clamped to 0..1. */
function conversionRateOf(markers: Set<string>): number {
  let factor = 1;
  for (const marker of markers) {
    const m = /^(convert|lose)(\d{1,4})$/.exec(marker);
    if (m) factor *= m[1] === 'convert' ? 1 + Number(m[2]) / 100 : 1 - Number(m[2]) / 100;
  }
  return Math.min(1, Math.max(0, BASE_CONVERSION_RATE * factor));
}

export function behaviourFor(version: string, overrides?: Partial<VersionBehaviour>): VersionBehaviour {
  // Suffix markers, e.g. v1.2.4-bad, v1.2.4-slow, v1.2.4-bad-slow, v1.2.4-bad.2, v2.0.0-convert10
  const markers = new Set(version.toLowerCase().split(/[-+.]/));
  return {
    ...HEALTHY,
    errorRate: markers.has('bad') ? BAD_ERROR_RATE : 0,
    extraLatencyMs: markers.has('slow') ? SLOW_EXTRA_MS : 0,
    conversionRate: conversionRateOf(markers),
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
