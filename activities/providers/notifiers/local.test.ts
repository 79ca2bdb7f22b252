import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleNotifier } from './console';
import { JsonlFileNotifier } from './jsonl-file';
import type { Notice } from '../types';

const notice = (over: Partial<Notice> = {}): Notice => ({
  kind: 'breach',
  releaseId: 'release:checkout',
  service: 'checkout',
  version: 'v1.2.4-bad',
  strategy: 'canary',
  requestedBy: 'ana',
  stage: 'canary 5 %',
  trafficPercent: 5,
  text: 'checkout v1.2.4-bad breached',
  detail: 'error rate 8 %\nlimit 1 %',
  at: Date.UTC(2026, 10, 26, 15),
  ...over,
});

test('console notifier writes one readable line per notice, detail indented', async () => {
  const lines: string[] = [];
  const r = await new ConsoleNotifier((l) => lines.push(l)).notify(notice());
  expect(lines[0]).toBe('[quad] 2026-11-26T15:00:00.000Z breach [canary 5 %, 5 %] checkout v1.2.4-bad breached\n[quad]   error rate 8 %\n[quad]   limit 1 %');
  expect(r.ref).toBe('release:checkout');
});

test('file notifier appends parseable JSON lines, creating the folder', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'quad-')), 'sub', 'notices.jsonl');
  const f = new JsonlFileNotifier(path);
  await Promise.all([f.notify(notice({ kind: 'started' })), f.notify(notice({ kind: 'rolled_back' }))]);
  const kinds = readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).kind)
    .sort();
  expect(kinds).toEqual(['rolled_back', 'started']);
});
