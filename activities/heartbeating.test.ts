// A deployer call heartbeats while it runs (so its activity can carry a short heartbeat timeout), and a
// direct call outside an activity just runs.
import { MockActivityEnvironment } from '@temporalio/testing';
import { heartbeating } from './heartbeating';

test('heartbeats at once and then every interval while the call runs, and stops when it ends', async () => {
  const env = new MockActivityEnvironment();
  const beats: number[] = [];
  const t0 = Date.now();
  env.on('heartbeat', () => beats.push(Date.now() - t0));
  const slow = heartbeating(async (ms: number) => {
    await new Promise((r) => setTimeout(r, ms));
    return `waited ${ms}`;
  }, 100);
  expect(await env.run(slow, 550)).toBe('waited 550');
  const during = beats.length;
  // one at the start, then one per 100 ms of the 550 ms call
  expect(during).toBeGreaterThanOrEqual(5);
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
