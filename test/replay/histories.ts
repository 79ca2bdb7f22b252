// The recorded histories on disk and one way to replay them all, shared by the recorder and the test.
import { readdirSync, readFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import { Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { historyFromJSON } from './history-json';

export const HISTORY_DIR = join(__dirname, 'histories');

export interface StoredHistory {
  /** the file's name without .json; used as the replay's workflow ID so results name their file */
  name: string;
  /** parsed from the standard history JSON into protobuf */
  history: ReturnType<typeof historyFromJSON>;
}

export function loadHistories(names?: string[]): StoredHistory[] {
  const files = names ? names.map((n) => `${n}.json`) : readdirSync(HISTORY_DIR).filter((f) => f.endsWith('.json')).sort();
  return files.map((f) => ({ name: basename(f, '.json'), history: historyFromJSON(JSON.parse(readFileSync(join(HISTORY_DIR, f), 'utf8'))) }));
}

export interface Replayed {
  name: string;
  error?: Error;
}

/** Replays every history on one replay worker; a failure is reported per history, never thrown. */
export async function replayAll(options: ReplayWorkerOptions, histories: StoredHistory[]): Promise<Replayed[]> {
  const out: Replayed[] = [];
  const iterable = histories.map((h) => ({ workflowId: h.name, history: h.history }));
  for await (const r of Worker.runReplayHistories({ replayName: 'quad-replay', ...options }, iterable)) {
    out.push({ name: r.workflowId, ...(r.error ? { error: r.error } : {}) });
  }
  return out;
}
