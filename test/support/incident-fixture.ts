// One realistic incident, as the incident activity hands it to a sink: a -bad canary rolled back at
// canary 5 %, its error-rate finding, the JWT signature from its logs and the hint.
import type { Incident } from '../../activities/providers/types';

export const JWT_TEMPLATE = 'JWT validation failed: signature mismatch for kid=<hex>';

export function sampleIncident(over: Partial<Incident> = {}): Incident {
  return {
    releaseId: 'release-checkout-v1.2.4-bad',
    service: 'checkout',
    version: 'v1.2.4-bad',
    previousVersion: 'v1.2.3',
    title: 'checkout v1.2.4-bad rolled back: canary 5 %',
    evidence: 'error rate 8.1 % vs 0 % (limit 1 %)',
    rootCauseHint: `\`${JWT_TEMPLATE}\` — 412 on canary, 0 on baseline: check secret or signing-key rotation`,
    at: 1795700000000,
    strategy: 'canary',
    stage: 'canary 5 %',
    regions: ['eu-west-1'],
    trafficPercent: 0,
    findings: [
      { metric: 'error_rate', status: 'breach', canary: 8.1, baseline: 0, limit: 1, sampleSize: 5080, explanation: 'error rate 8.1 % vs 0 %' },
      { metric: 'latency_p95', status: 'ok', canary: 4.2, baseline: 4, limit: 300, explanation: 'p95 fine' },
    ],
    window: { from: 1795699700000, to: 1795700000000 },
    rollbackFinished: true,
    url: 'http://127.0.0.1:8233/namespaces/default/workflows/release-checkout-v1.2.4-bad/run-1',
    signatures: [{ template: JWT_TEMPLATE, level: 'error', canary: 412, baseline: 0, example: 'JWT validation failed: signature mismatch for kid=3f9a2c41' }],
    ...over,
  };
}
