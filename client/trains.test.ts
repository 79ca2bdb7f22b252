// A train's input from config: every service's release resolved in the train's order, and every
// mistake a person can make refused before anything starts.
import { resolveTrain, trainLine } from './trains';
import { configSchema } from '../config/schema';

const cfg = configSchema.parse({
  release_managers: ['ana'],
  services: { api: { starters: ['bob'] }, web: {} },
  trains: { storefront: { services: ['api', 'web'], on_failure: 'rollback' } },
});
const ask = (over: Partial<Parameters<typeof resolveTrain>[1]> = {}) => ({
  train: 'storefront',
  versions: { api: 'v2.1.0', web: 'v3.0.0' },
  requestedBy: 'ana',
  source: 'cli' as const,
  ...over,
});

test('in the train order, each a release of its own, with the train named as the reason', async () => {
  const t = await resolveTrain(cfg, ask({ versions: { web: 'v3.0.0', api: 'v2.1.0' } }));
  expect(t.onFailure).toBe('rollback');
  expect(t.steps.map((s) => [s.plan.service, s.plan.version, s.request.reason])).toEqual([
    ['api', 'v2.1.0', 'train storefront'],
    ['web', 'v3.0.0', 'train storefront'],
  ]);
});

test.each([
  [{ train: 'nope' }, 'unknown train "nope"; configured: storefront'],
  [{ versions: { api: 'v2.1.0' } }, 'train storefront needs a version for web, e.g. web=v1.2.3'],
  [{ versions: { api: 'v2.1.0', web: 'v3.0.0', cart: 'v1.0.0' } }, 'cart is not in train storefront (api → web)'],
  [{ versions: { api: 'v2.1.0', web: 'not a version;' } }, /is not a version/],
  // bob may start api, not web: a train needs each of its services allowed
  [{ requestedBy: 'bob' }, /^not allowed: /],
])('%j is refused', async (over, why) => {
  await expect(resolveTrain(cfg, ask(over))).rejects.toThrow(why);
});

test('the progress line', () => {
  expect(
    trainLine({
      train: 'storefront',
      status: 'rolled_back',
      reason: 'web v3.0.0 rolled back: breach',
      steps: [
        { service: 'api', version: 'v2.1.0', workflowId: 'release:api', status: 'succeeded', reason: 'released', previousVersion: 'v2.0.0', back: 'succeeded' },
        { service: 'web', version: 'v3.0.0', workflowId: 'release:web', status: 'rolled_back', reason: 'breach', previousVersion: 'v2.9.0' },
      ],
    }),
  ).toBe('train storefront rolled back: api v2.1.0 succeeded (back to v2.0.0: succeeded) → web v3.0.0 rolled back · web v3.0.0 rolled back: breach');
});
