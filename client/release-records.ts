// The releases a report is computed from: found through the search attributes (newest first, back to
// `sinceMs`), each read through its status query. A query on a closed release is answered by a worker
// replaying its history, so the report needs a worker on the task queue (the same one that runs releases).
import { statusQuery } from '../contract/messages';
import type { Releases } from './releases';
import type { ReleaseRecord } from './report';

export async function releaseRecords(
  rel: Releases,
  opts: { service?: string; sinceMs: number; limit?: number; concurrency?: number },
): Promise<ReleaseRecord[]> {
  const listed = (await rel.list({ ...(opts.service ? { service: opts.service } : {}), limit: opts.limit ?? 1000 })).filter(
    (r) => r.startTime.getTime() >= opts.sinceMs,
  );
  const out: ReleaseRecord[] = [];
  let next = 0;
  const work = async () => {
    while (next < listed.length) {
      const r = listed[next++];
      const handle = rel.client.workflow.getHandle(r.workflowId, r.runId);
      const status = await handle.query(statusQuery);
      out.push({ workflowId: r.workflowId, runId: r.runId, url: r.url, status });
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 8, listed.length) }, work));
  return out.sort((a, b) => a.status.startedAt - b.status.startedAt);
}
