// A button acts only on the release whose message it sits on. The button's value names a workflow, but a
// value can be edited (or an old message's button clicked after a new release of the service started), so
// the click's message (channel + ts, from Slack's signed payload) must be the message this run of the
// release posted: the Slack ref its notices returned, read from the run's history.
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';

/** The channel and ts of the Slack message the release's current run posted and keeps updating, or null. */
export async function releaseMessageOf(client: Client, workflowId: string): Promise<{ runId: string; channel: string; ts: string } | null> {
  const handle = client.workflow.getHandle(workflowId);
  const { runId } = await handle.describe();
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const converter = client.options.loadedDataConverter;
  let ref: string | undefined;
  for (const ev of history.events ?? []) {
    const payloads = ev.activityTaskCompletedEventAttributes?.result?.payloads;
    if (!payloads?.length) continue;
    let decoded: Payload[] = payloads as Payload[];
    for (const codec of [...converter.payloadCodecs].reverse()) decoded = await codec.decode(decoded);
    const result = converter.payloadConverter.fromPayload<{ refs?: Record<string, unknown> } | null>(decoded[0]);
    const slack = result && typeof result === 'object' ? result.refs?.slack : undefined;
    if (typeof slack === 'string') ref = slack;
  }
  if (!ref) return null;
  const i = ref.indexOf('/');
  return i > 0 ? { runId, channel: ref.slice(0, i), ts: ref.slice(i + 1) } : null;
}

/** Does a click on (channel, ts) belong to `workflowId`'s current message? */
export async function clickBelongsTo(client: Client, workflowId: string, channel: string, ts: string | undefined): Promise<boolean> {
  if (!ts) return false;
  const message = await releaseMessageOf(client, workflowId).catch(() => null);
  return message !== null && message.channel === channel && message.ts === ts;
}
