// Notices appended to a JSON-lines file: a durable local record a script (or a test) can read.
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Notice, Notifier } from '../types';

export class JsonlFileNotifier implements Notifier {
  readonly name = 'file';
  constructor(private readonly path: string) {}

  async notify(n: Notice): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    // One write per line: appends of a few KB are atomic on local file systems, so lines never interleave.
    await appendFile(this.path, JSON.stringify(n) + '\n');
  }
}
