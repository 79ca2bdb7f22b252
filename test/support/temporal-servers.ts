// Where the Temporal servers come from: the repo's own installs in .tools/ (scripts/tools.sh), an
// override from the environment, or — for a user with the internet and neither Go nor Java — the SDK's
// own download.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import yaml from 'js-yaml';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const ROOT = join(__dirname, '..', '..');

export interface DevServerSettings {
  ip: string;
  port: number;
  ui_port: number;
  namespace: string;
  db_filename: string;
  log_level: string;
  search_attributes: Record<string, 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList'>;
}

export function devServerSettings(): DevServerSettings {
  return yaml.load(readFileSync(join(ROOT, 'temporal-dev.yml'), 'utf8')) as DevServerSettings;
}

const TYPES = {
  Keyword: SearchAttributeType.KEYWORD,
  Text: SearchAttributeType.TEXT,
  Int: SearchAttributeType.INT,
  Double: SearchAttributeType.DOUBLE,
  Bool: SearchAttributeType.BOOL,
  Datetime: SearchAttributeType.DATETIME,
  KeywordList: SearchAttributeType.KEYWORD_LIST,
} as const;

export function searchAttributeKeys() {
  return Object.entries(devServerSettings().search_attributes).map(([name, type]) => defineSearchAttributeKey(name, TYPES[type]));
}

function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export function temporalCliPath(): string | undefined {
  if (process.env.QUAD_TEMPORAL_BIN) return process.env.QUAD_TEMPORAL_BIN;
  const local = join(ROOT, '.tools', 'bin', 'temporal');
  return existsSync(local) ? local : which('temporal');
}

export function testServerPath(): string | undefined {
  if (process.env.QUAD_TEST_SERVER) return process.env.QUAD_TEST_SERVER;
  const jar = join(ROOT, '.tools', 'test-server', 'temporal-test-server-1.38.0.jar');
  return existsSync(jar) ? join(ROOT, 'scripts', 'test-server', 'temporal-test-server') : undefined;
}

export const executable = (path: string | undefined) => (path ? { type: 'existing-path' as const, path } : { type: 'cached-download' as const });
