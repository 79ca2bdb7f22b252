// What the release workflow hands the incident activity, on the time-skipping test server: a breach
// passes the facts and the window the activity reads the logs for (no log text: the workflow has none);
// a manual rollback asks for one too, marked manual, and a '' answer (config opens none) is no incident.
import { stubActivities } from '../support/stub-activities';
import { withWorker, advanceUntil } from '../support/release-harness';
import { useReleaseBed } from '../support/release-bed';
import { Releases } from '../../client/releases';
import { statusQuery } from '../../contract/messages';
import type { IncidentRequest } from '../../contract/activities';
import type { ReleaseInput } from '../../contract/plan';
import type { StubScript } from '../support/stub-activities';

const bed = useReleaseBed();

async function runCapturing(script: StubScript, input: ReleaseInput, answer: string, drive?: (h: any) => Promise<void>) {
  const { acts, calls } = stubActivities(script);
  const requests: IncidentRequest[] = [];
  acts.openIncident = async (req) => {
    requests.push(req);
    return answer;
  };
  return withWorker(bed.env(), acts, async (taskQueue) => {
    const started = await new Releases(bed.env().client, bed.cfg(), taskQueue).start(input);
    const h = bed.env().client.workflow.getHandle(started.workflowId);
    if (drive) await drive(h);
    const result = await h.result();
    return { result, status: await h.query(statusQuery), requests, calls };
  });
}

test('a breach: the incident request carries stage, versions, findings, the window and that the rollback finished', async () => {
  const { result, status, requests } = await runCapturing({ breachAt: ['canary 5 %'] }, bed.seedPlan(), 'INC-1 · top log signature: x');
  expect(result).toMatchObject({ status: 'rolled_back', incident: 'INC-1 · top log signature: x' });
  expect(requests).toHaveLength(1);
  const r = requests[0];
  expect(r).toMatchObject({ service: 'checkout', version: 'v1.2.3', stage: 'canary 5 %', strategy: 'canary', rollbackFinished: true });
  expect(r.manual).toBeUndefined();
  expect(r.findings?.some((f) => f.status === 'breach')).toBe(true);
  expect(r.window!.from).toBe(status.startedAt);
  expect(r.window!.to).toBeGreaterThanOrEqual(r.window!.from);
});

test('a manual rollback asks for an incident marked manual; an empty answer means none was opened', async () => {
  const { result, status, requests } = await runCapturing({}, bed.seedPlan(), '', async (h) => {
    await advanceUntil(
      bed.env(),
      () => h.query(statusQuery),
      (s: any) => s.stage === 'canary 25 %' && s.windowEndsAt !== null,
    );
    await bed.signal(h, 'rollback', { by: 'ana', reason: 'customers complain' });
  });
  expect(result.status).toBe('rolled_back');
  expect(requests).toEqual([expect.objectContaining({ manual: { by: 'ana', why: expect.stringContaining('customers complain') }, rollbackFinished: true })]);
  expect(result.incident).toBeUndefined();
  expect(status.timeline.map((t) => t.event)).not.toContain('incident opened');
});
