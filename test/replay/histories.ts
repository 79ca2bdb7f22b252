// The recorded histories on disk and one way to replay them all, shared by the recorder and the test.
import { readdirSync, readFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import { Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { historyFromJSON } from './history-json';

/** Recorded from today's scenarios by `npm run replay:record`. */
export const HISTORY_DIR = join(__dirname, 'histories');
/**
 * Recorded by earlier versions of the workflow and never re-recorded: releases started then may still be
 * running when a new worker takes them over, so today's code must replay them too (patched() keeps the
 * old path). One folder per change that needed it.
 */
export const LEGACY_DIR = join(__dirname, 'legacy');

export interface StoredHistory {
  /** the file's name without .json; used as the replay's workflow ID so results name their file */
  name: string;
  /** parsed from the standard history JSON into protobuf */
  history: ReturnType<typeof historyFromJSON>;
}

export function loadHistories(names?: string[], dir = HISTORY_DIR): StoredHistory[] {
  const files = names
    ? names.map((n) => `${n}.json`)
    : readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort();
  return files.map((f) => ({ name: basename(f, '.json'), history: historyFromJSON(JSON.parse(readFileSync(join(dir, f), 'utf8'))) }));
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
  const iterable = histories.map((h) => ({ workflowId: h.name, history: h.history }));
  for await (const r of Worker.runReplayHistories({ replayName: 'quad-replay', ...options }, iterable)) {
    out.push({ name: r.workflowId, ...(r.error ? { error: r.error } : {}) });
  }
  return out;
}
