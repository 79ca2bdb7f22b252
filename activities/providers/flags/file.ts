// File flag provider for the local demo: one JSON file `{ "flags": { "<name>": { "enabled", "rolloutPercent" } } }`
// that the sandbox reads and evaluates with isEnabled(). Writes go to a temp file in the same folder and
// are renamed over the original, so a reader never sees half a file.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { FlagProvider, FlagState } from '../types';

export interface FileFlag {
  enabled: boolean;
  /** percent of users (0..100) that get the flag when enabled; null = everyone */
  rolloutPercent: number | null;
  /** anything else a person put there is kept as is */
  [extra: string]: unknown;
}

export interface FlagFile {
  flags: Record<string, FileFlag>;
  [extra: string]: unknown;
}

/** FlagState.snapshot for the file provider: the flag's entry exactly as it was (null = absent). */
export interface FileFlagSnapshot {
  provider: 'file';
  path: string;
  entry: FileFlag | null;
}

/**
 * A user's stable bucket for a flag, 0..9999: FNV-1a over "flag:user", finished with murmur3's fmix32
 * so that IDs differing in one character spread evenly. Pure; the same on every machine and run.
 */
export function bucketOf(flag: string, userId: string): number {
  let h = 0x811c9dc5;
  const s = `${flag}:${userId}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % 10000;
}

/**
 * Whether `userId` gets the flag. Pure. Buckets are sticky: a user in at 25 % stays in at 50 %.
 * `flag` is the file entry plus its name (the name salts the hash so flags pick different users).
 */
export function isEnabled(flag: (FileFlag & { name: string }) | undefined, userId: string): boolean {
  if (!flag || !flag.enabled) return false;
  if (flag.rolloutPercent === null || flag.rolloutPercent === undefined) return true;
  return bucketOf(flag.name, userId) < flag.rolloutPercent * 100;
}

/** Evaluates one flag of a parsed flag file (what the sandbox calls). */
export function isEnabledIn(file: FlagFile, name: string, userId: string): boolean {
  const entry = file.flags[name];
  return isEnabled(entry && { ...entry, name }, userId);
}

export async function readFlagFile(path: string): Promise<FlagFile> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { flags: {} };
    throw err;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`flag file ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const flags = (doc as FlagFile | null)?.flags;
  if (!flags || typeof flags !== 'object' || Array.isArray(flags)) {
    throw new Error(`flag file ${path} must hold {"flags": {"<name>": {"enabled": ..., "rolloutPercent": ...}}}`);
  }
  return doc as FlagFile;
}

/** Writes the whole file atomically: temp file in the same folder (same filesystem), fsync, rename. */
export async function writeFlagFile(path: string, doc: FlagFile): Promise<void> {
  await fs.mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await fs.open(tmp, 'w', 0o644);
  try {
    await handle.writeFile(`${JSON.stringify(doc, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

// Read-modify-write cycles on the same file are queued within this process so none is lost.
const queues = new Map<string, Promise<unknown>>();
function serialized<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const prev = queues.get(path) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const tail = next.catch(() => undefined);
  queues.set(path, tail);
  void tail.then(() => {
    if (queues.get(path) === tail) queues.delete(path);
  });
  return next;
}

export class FileFlagProvider implements FlagProvider {
  readonly name = 'file';

  constructor(private readonly opts: { path: string }) {}

  async getState(flag: string): Promise<FlagState> {
    const doc = await readFlagFile(this.opts.path);
    return this.toState(flag, doc.flags[flag] ?? null);
  }

  setRollout(flag: string, percent: number): Promise<FlagState> {
    if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
      return Promise.reject(new Error(`rollout must be a percent 0..100, got ${percent}`));
    }
    return serialized(this.opts.path, async () => {
      const doc = await readFlagFile(this.opts.path);
      const entry: FileFlag = { ...doc.flags[flag], enabled: true, rolloutPercent: percent };
      doc.flags[flag] = entry;
      await writeFlagFile(this.opts.path, doc);
      return this.toState(flag, entry);
    });
  }

  restore(state: FlagState): Promise<FlagState> {
    const snap = state.snapshot as Partial<FileFlagSnapshot> | undefined;
    if (!snap || snap.provider !== 'file' || snap.entry === undefined) {
      return Promise.reject(new Error(`cannot restore flag ${state.flag}: its state has no file-provider snapshot`));
    }
    return serialized(this.opts.path, async () => {
      const doc = await readFlagFile(this.opts.path);
      if (snap.entry === null) delete doc.flags[state.flag];
      else doc.flags[state.flag] = structuredClone(snap.entry!);
      await writeFlagFile(this.opts.path, doc);
      return this.toState(state.flag, snap.entry ?? null);
    });
  }

  private toState(flag: string, entry: FileFlag | null): FlagState {
    const snapshot: FileFlagSnapshot = { provider: 'file', path: this.opts.path, entry: entry && structuredClone(entry) };
    return {
      flag,
      exists: entry !== null,
      enabled: entry?.enabled ?? false,
      rolloutPercent: entry?.rolloutPercent ?? null,
      snapshot,
    };
  }
}
