// The chaos suite at CI size (test/chaos/run.ts): releases of good and bad versions and flag ramps on
// the dev server against the sandbox, two worker processes killed with SIGKILL at chosen moments of the
// releases and replaced, the dev server killed and restarted on its SQLite file. Every release ends as
// it should, no split reaches the router twice, none is stuck, every undo finishes. The full size:
// `npm run test:chaos -- --full`.
import { runChaos, MOMENTS, type ChaosReport } from './run';
import { CI_SIZE } from './sizes';

jest.setTimeout(400_000);

const SEED = Number(process.env.CHAOS_SEED ?? 14);
let report: ChaosReport;

beforeAll(async () => {
  const lines: string[] = [];
  report = await runChaos({ ...CI_SIZE, seed: SEED, log: (l) => lines.push(l) });
  console.log([...lines, `took ${(report.tookMs / 1000).toFixed(0)} s`, report.summary].join('\n'));
});

test('every release ends as it should through the kills: no double split, none stuck, every undo finished', () => {
  expect(report.outcomes.filter((o) => !o.correct).map((o) => `${o.workflowId} ${o.version ?? o.flag}: ${o.status} (${o.trace})`)).toEqual([]);
  expect(report.releases).toBeGreaterThanOrEqual(CI_SIZE.releases);
  expect(report.correct).toBe(report.releases);
  expect(report.doubleApplied).toBe(0);
  expect(report.stuck).toBe(0);
  expect(report.undoUnfinished).toBe(0);
  // the mix: good versions, bad ones and flag ramps, each ending both ways
  const kinds = new Set(report.outcomes.map((o) => o.kind));
  expect([...kinds].sort()).toEqual(['bad', 'flag', 'flag-bad', 'good']);
  expect(report.summary).toMatch(/^summary releases=\d+ correct=\d+ double_applied=0 stuck=0 undo_unfinished=0 recover_s_median=[\d.]+ recover_s_max=[\d.]+$/);
});

test('the kills happened at the named moments, and every release in flight on a killed worker moved on again', () => {
  const workerKills = report.kills.filter((k) => k.moment !== 'server');
  expect(workerKills.length).toBeGreaterThanOrEqual(CI_SIZE.kills);
  // each moment at least once, caught while its step was in flight on the worker that died
  for (const m of MOMENTS) expect(workerKills.filter((k) => k.moment === m && k.hit).map((k) => k.moment)).toContain(m);
  const server = report.kills.filter((k) => k.moment === 'server');
  expect(server).toHaveLength(CI_SIZE.serverKills);
  expect(server.every((k) => k.hit)).toBe(true);
  expect(report.kills.filter((k) => k.recoverMs === null).map((k) => `${k.n} ${k.moment} ${k.workflowId}`)).toEqual([]);
});
