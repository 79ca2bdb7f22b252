// A deployer call heartbeats while it runs (so its activity can carry a short heartbeat timeout), and a
// direct call outside an activity just runs.
import { MockActivityEnvironment } from '@temporalio/testing';
import { heartbeating } from './heartbeating';

test('heartbeats at once and then every interval while the call runs, and stops when it ends', async () => {
  const env = new MockActivityEnvironment();
  const beats: number[] = [];
  const t0 = Date.now();
  // The call ends once it has seen four beats, so the count does not depend on how busy the machine is
  // (a loaded CI machine runs late timers, never early ones).
  let fourth: () => void = () => undefined;
  const seenFour = new Promise<void>((r) => (fourth = r));
  env.on('heartbeat', () => {
    beats.push(Date.now() - t0);
    if (beats.length === 4) fourth();
  });
  let atStart = -1;
  const slow = heartbeating(async (label: string) => {
    atStart = beats.length;
    await seenFour;
    return `done ${label}`;
  }, 100);
  expect(await env.run(slow, 'shift')).toBe('done shift');
  const during = beats.length;
  expect(during).toBe(4);
  expect(atStart).toBe(1); // the first one at once, before the call itself begins
  for (let i = 1; i < beats.length; i++) expect(beats[i] - beats[i - 1]).toBeGreaterThanOrEqual(90);
  await new Promise((r) => setTimeout(r, 300));
  expect(beats.length).toBe(during);
  console.log(`heartbeats at ${beats.join(', ')} ms`);
});

test('a call that fails still stops heartbeating, and fails as it did', async () => {
  const env = new MockActivityEnvironment();
  let beats = 0;
  env.on('heartbeat', () => beats++);
  const failing = heartbeating(async () => {
    await new Promise((r) => setTimeout(r, 120));
    throw new Error('the load balancer answered 503');
  }, 50);
  await expect(env.run(failing)).rejects.toThrow('the load balancer answered 503');
  const after = beats;
  await new Promise((r) => setTimeout(r, 200));
  expect(beats).toBe(after);
});

test('outside an activity it is the call itself', async () => {
  expect(await heartbeating(async (x: number) => x * 2)(21)).toBe(42);
});
