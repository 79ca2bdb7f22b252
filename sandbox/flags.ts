// The feature flags the sandbox applies per request: the file flag provider's JSON file, evaluated with
// the provider's own isEnabledIn so both agree on who is in. The file is read lazily: at most every
// checkEveryMs a stat, and a re-read only when the file changed. A missing file means no flags; a file
// that does not parse keeps the last good flags (the provider renames whole files into place, but a
// person may edit it by hand).
import { promises as fs } from 'node:fs';
import { isEnabledIn, readFlagFile, type FlagFile } from '../activities/providers/flags/file';

export interface FlagValue {
  name: string;
  on: boolean;
}

/** Who a request is for (the load generator sends it); flags are evaluated for this user ID. */
export const USER_HEADER = 'x-quad-user';

const NO_FLAGS: FlagFile = { flags: {} };

/** Every flag of the file for one user. */
export function evaluateFlags(file: FlagFile, userId: string): FlagValue[] {
  return Object.keys(file.flags).map((name) => ({ name, on: isEnabledIn(file, name, userId) }));
}

export interface FlagFileOptions {
  /** how often a request may trigger a stat of the file; default 250 ms */
  checkEveryMs?: number;
  /** told once per broken version of the file */
  warn?: (message: string) => void;
}

export class FlagFileWatcher {
  private file: FlagFile = NO_FLAGS;
  /** identity of the file version last read (good or bad), so each version is read once */
  private signature: string | null = null;
  private checkedAt = -Infinity;
  private checking: Promise<void> | null = null;
  private readonly checkEveryMs: number;
  private readonly warn: (message: string) => void;

  constructor(
    readonly path: string,
    opts: FlagFileOptions = {},
  ) {
    this.checkEveryMs = opts.checkEveryMs ?? 250;
    this.warn = opts.warn ?? ((message) => console.warn(message));
  }

  /**
   * The flags for a request: when the last check is older than checkEveryMs (or one is under way) it
   * waits for a check first (a stat; a read only when the file changed), so a change is seen by the
   * first request after it once checkEveryMs have passed, even after a quiet spell.
   */
  async current(): Promise<FlagFile> {
    if (this.checking || performance.now() - this.checkedAt >= this.checkEveryMs) await this.refresh();
    return this.file;
  }

  /** Checks the file now (one check at a time) and resolves when the flags are up to date. */
  refresh(): Promise<void> {
    this.checking ??= this.check().finally(() => {
      this.checkedAt = performance.now();
      this.checking = null;
    });
    return this.checking;
  }

  private async check(): Promise<void> {
    let signature: string;
    try {
      const st = await fs.stat(this.path);
      // a rename brings a new inode, an edit in place a new mtime or size
      signature = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.file = NO_FLAGS;
        this.signature = null;
      } else {
        this.warnOnce(`stat:${(err as Error).message}`, err as Error);
      }
      return;
    }
    if (signature === this.signature) return;
    this.signature = signature;
    try {
      this.file = await readFlagFile(this.path);
    } catch (err) {
      this.warnOnce(signature, err as Error);
    }
  }

  private lastWarning: string | null = null;
  private warnOnce(key: string, err: Error): void {
    if (key === this.lastWarning) return;
    this.lastWarning = key;
    this.warn(`sandbox: flags file ${this.path}: ${err.message}; keeping the last good flags`);
  }
}
