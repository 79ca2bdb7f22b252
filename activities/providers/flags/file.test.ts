import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bucketOf, FileFlagProvider, isEnabled, isEnabledIn, readFlagFile } from './file';

let dir: string;
let path: string;
let provider: FileFlagProvider;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'quad-flags-'));
  path = join(dir, 'flags.json');
  provider = new FileFlagProvider({ path });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const users = Array.from({ length: 1000 }, (_, i) => `user-${i}`);
const enabledUsers = async (flag: string) => {
  const doc = await readFlagFile(path);
  return new Set(users.filter((u) => isEnabledIn(doc, flag, u)));
};

describe('isEnabled (pure)', () => {
  test('stable buckets, spread evenly', () => {
    expect(bucketOf('dark_mode', 'user-1')).toBe(bucketOf('dark_mode', 'user-1'));
    const buckets = users.map((u) => bucketOf('dark_mode', u));
    expect(Math.min(...buckets)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...buckets)).toBeLessThan(10000);
    // Each tenth of the range holds about a tenth of the users.
    for (let d = 0; d < 10; d++) {
      const n = buckets.filter((b) => b >= d * 1000 && b < (d + 1) * 1000).length;
      expect(n).toBeGreaterThan(60);
      expect(n).toBeLessThan(140);
    }
  });

  test('0 % nobody, 100 % everybody, disabled nobody, no percentage = everybody', () => {
    const count = (f: Parameters<typeof isEnabled>[0]) => users.filter((u) => isEnabled(f, u)).length;
    expect(count({ name: 'f', enabled: true, rolloutPercent: 0 })).toBe(0);
    expect(count({ name: 'f', enabled: true, rolloutPercent: 100 })).toBe(1000);
    expect(count({ name: 'f', enabled: false, rolloutPercent: 100 })).toBe(0);
    expect(count({ name: 'f', enabled: true, rolloutPercent: null })).toBe(1000);
    expect(count(undefined)).toBe(0);
  });
});

describe('FileFlagProvider', () => {
  test('ramps a new flag 25 % → 50 % with sticky users, then undo removes it', async () => {
    writeFileSync(path, JSON.stringify({ flags: { other: { enabled: true, rolloutPercent: 10, owner: 'ana' } } }));
    const before = await provider.getState('dark_mode');
    expect(before).toMatchObject({ exists: false, enabled: false, rolloutPercent: null });

    expect(await provider.setRollout('dark_mode', 25)).toMatchObject({ exists: true, enabled: true, rolloutPercent: 25 });
    expect(JSON.parse(readFileSync(path, 'utf8')).flags.dark_mode).toEqual({ enabled: true, rolloutPercent: 25 });
    const on25 = await enabledUsers('dark_mode');
    expect(on25.size).toBeGreaterThanOrEqual(200);
    expect(on25.size).toBeLessThanOrEqual(300);

    await provider.setRollout('dark_mode', 50);
    const on50 = await enabledUsers('dark_mode');
    expect(on50.size).toBeGreaterThanOrEqual(450);
    expect(on50.size).toBeLessThanOrEqual(550);
    expect([...on25].filter((u) => !on50.has(u))).toEqual([]);
    // Another flag at a similar percentage picks (mostly) different users: the name salts the hash.
    const other = await enabledUsers('other');
    expect([...other].filter((u) => on25.has(u)).length).toBeLessThan(other.size * 0.5);

    expect(await provider.restore(before)).toMatchObject({ exists: false, enabled: false, rolloutPercent: null });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ flags: { other: { enabled: true, rolloutPercent: 10, owner: 'ana' } } });
  });

  test('undo puts back an existing entry exactly, extra fields included', async () => {
    const prior = { enabled: false, rolloutPercent: 5, owner: 'bo', note: 'paused for QA' };
    writeFileSync(path, JSON.stringify({ flags: { dark_mode: prior }, updatedBy: 'hand' }));
    const before = await provider.getState('dark_mode');
    await provider.setRollout('dark_mode', 100);
    expect(JSON.parse(readFileSync(path, 'utf8')).flags.dark_mode).toEqual({ ...prior, enabled: true, rolloutPercent: 100 });
    await provider.restore(before);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ flags: { dark_mode: prior }, updatedBy: 'hand' });
  });

  test('writes are atomic and none is lost under concurrent steps', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => provider.setRollout(`flag-${i}`, i)));
    const doc = await readFlagFile(path);
    expect(Object.keys(doc.flags)).toHaveLength(20);
    expect(doc.flags['flag-7']).toEqual({ enabled: true, rolloutPercent: 7 });
    expect(readdirSync(dir)).toEqual(['flags.json']); // no temp files left behind
  });

  test('a missing file is an empty flag set; a malformed one is a plain error', async () => {
    expect(await provider.getState('x')).toMatchObject({ exists: false });
    writeFileSync(path, '{"flags": [');
    await expect(provider.getState('x')).rejects.toThrow(`flag file ${path} is not valid JSON`);
    writeFileSync(path, '{"toggles": {}}');
    await expect(provider.setRollout('x', 5)).rejects.toThrow('must hold {"flags"');
    await expect(provider.setRollout('x', -1)).rejects.toThrow('percent 0..100');
    await expect(provider.restore({ flag: 'x', exists: true, enabled: true, rolloutPercent: 1 })).rejects.toThrow('no file-provider snapshot');
  });
});
