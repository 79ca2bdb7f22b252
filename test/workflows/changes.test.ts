// What a release brings, read once its serving version is known: in the start notice, the status and
// the incident; a source that cannot be read never stops the release.
import { useReleaseBed } from '../support/release-bed';

const bed = useReleaseBed();
const source = { repo: 'shop/checkout', featureLabels: ['feature'], fixLabels: ['bug'] };

test('the changes between the serving version and this one: in the start notice, the status, and the incident of a rollback', async () => {
  const plan = bed.seedPlan({ changes: source, stages: bed.seedPlan().plan.stages.slice(0, 1), approvalRequired: false, bakeMs: 0 });
  const { result, status, calls } = await bed.run({ breachAt: ['canary 5 %'] }, plan);
  expect(result.status).toBe('rolled_back');
  expect(status.changes).toMatchObject({ summary: '2 features, 1 bug fix', url: 'https://github.com/shop/checkout/compare/v1.2.2...v1.2.3' });
  const started = calls.notices.find((n) => n.kind === 'started')!;
  expect(started.detail).toBe('Changes: 2 features, 1 bug fix — #21 Faster <cart> & coupons (https://github.com/shop/checkout/compare/v1.2.2...v1.2.3)');
  expect(calls.incidents[0]).toContain('| Changes: 2 features, 1 bug fix');
});
