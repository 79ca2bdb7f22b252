// One notice to every notifier within one budget: a hung notifier is given up on once, never retried (a
// retry of a slow send is how an email arrives twice), and the others are not held back by it.
import { fanOutNotice } from './index';
import type { Notice, Notifier } from './providers/types';

const notice: Notice = {
  kind: 'started',
  releaseId: 'release:checkout',
  service: 'checkout',
  version: 'v1.2.3',
  strategy: 'canary',
  requestedBy: 'ana',
  text: 'started',
  at: 0,
};

test('a notifier that never answers is recorded once, when the budget ends; the fast one is delivered', async () => {
  let hungCalls = 0;
  const hung: Notifier = { name: 'email', notify: () => (hungCalls++, new Promise(() => undefined)) };
  const fast: Notifier = { name: 'slack', notify: async () => ({ ref: 'ts-1' }) };
  const t0 = Date.now();
  const r = await fanOutNotice({ email: hung, slack: fast }, ['email', 'slack'], notice, {}, 3, 300);
  expect(r.refs).toEqual({ slack: 'ts-1' });
  expect(r.failed).toEqual([{ notifier: 'email', error: 'no answer within 0.3 s; not retried (it may still arrive)' }]);
  expect(hungCalls).toBe(1);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
});

test('a failing notifier is retried while the budget lasts, and not after it', async () => {
  let calls = 0;
  const down: Notifier = { name: 'email', notify: async () => (calls++, Promise.reject(new Error('ECONNRESET'))) };
  const r = await fanOutNotice({ email: down }, ['email'], notice, {}, 10, 600);
  expect(r.failed).toEqual([{ notifier: 'email', error: 'ECONNRESET' }]);
  // backoffs of 250 and 500 ms: the third would end past the 600 ms budget
  expect(calls).toBe(2);
});
