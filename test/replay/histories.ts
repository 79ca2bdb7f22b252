// The recorded histories on disk and one way to replay them all, shared by the recorder and the test.
import { readdirSync, readFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import { Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { historyFromJSON } from './history-json';
import { workflowIdFor } from '../../config/resolve';
import type { ReleaseInput } from '../../contract/plan';

/** Recorded from today's scenarios by `npm run replay:record`. */
export const HISTORY_DIR = join(__dirname, 'histories');
/**
 * Recorded by earlier versions of the workflow and never re-recorded: releases started then may still be
 * running when a new worker takes them over, so today's code must replay them too (patched() keeps the
 * old path). One folder per change that needed it.
 */
export const LEGACY_DIR = join(__dirname, 'legacy');

export interface StoredHistory {
  /** the file's name without .json */
  name: string;
  /**
   * The ID the release ran under (histories do not hold it): its plan's workflowIdFor. Replayed under it,
   * as a worker replays the run, because a signed command is bound to it.
   */
  workflowId: string;
  /** parsed from the standard history JSON into protobuf */
  history: ReturnType<typeof historyFromJSON>;
}

export function loadHistories(names?: string[], dir = HISTORY_DIR): StoredHistory[] {
  const files = names
    ? names.map((n) => `${n}.json`)
    : readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort();
  return files.map((f) => {
    const history = historyFromJSON(JSON.parse(readFileSync(join(dir, f), 'utf8')));
    return { name: basename(f, '.json'), workflowId: workflowIdOf(history), history };
  });
}

/** The release's workflow ID, from the input in its start event (a JSON payload: the ReleaseInput). */
function workflowIdOf(history: StoredHistory['history']): string {
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload?.data) throw new Error('a history without the release input in its first event');
  const input = JSON.parse(Buffer.from(payload.data).toString('utf8')) as ReleaseInput;
  return workflowIdFor(input.request);
}

/** Every legacy history, named `<folder>/<file>`. */
export function loadLegacyHistories(): StoredHistory[] {
  return readdirSync(LEGACY_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((d) => loadHistories(undefined, join(LEGACY_DIR, d.name)).map((h) => ({ ...h, name: `${d.name}/${h.name}` })));
}

export interface Replayed {
  name: string;
  error?: Error;
}

/** Replays every history on one replay worker; a failure is reported per history, never thrown. */
export async function replayAll(options: ReplayWorkerOptions, histories: StoredHistory[]): Promise<Replayed[]> {
  const out: Replayed[] = [];
  const iterable = histories.map((h) => ({ workflowId: h.workflowId, history: h.history }));
  // one at a time and in order: the n-th result is the n-th history's (their workflow IDs repeat)
  for await (const r of Worker.runReplayHistories({ replayName: 'quad-replay', ...options }, iterable)) {
    out.push({ name: histories[out.length].name, ...(r.error ? { error: r.error } : {}) });
  }
  return out;
}
