// Reads .quad/production-agent.yml: YAML errors with their line, schema errors with their path, all at once.
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import type { z } from 'zod';
import { configSchema, type QuadConfig } from './schema';
import { ConfigError } from './errors';
import { parseCriteria } from './criteria';
import { visible } from '../contract/visible';

export const DEFAULT_CONFIG_PATH = '.quad/production-agent.yml';

export function loadConfig(file: string = process.env.QUAD_CONFIG ?? DEFAULT_CONFIG_PATH): QuadConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  return parseConfig(text, file);
}

export function parseConfig(text: string, file = '<config>'): QuadConfig {
  let raw: unknown;
  try {
    raw = yaml.load(text, { filename: file, schema: yaml.CORE_SCHEMA });
  } catch (err) {
    const e = err as yaml.YAMLException;
    const where = e.mark ? `line ${e.mark.line + 1}, column ${e.mark.column + 1}` : 'somewhere';
    throw new ConfigError(file, [`invalid YAML at ${where}: ${e.reason ?? e.message}`]);
  }
  if (raw === undefined || raw === null) raw = {};
  // aliases share nodes, so a few lines can stand for millions of them (a "billion laughs"): count first
  const size = nodeCount(raw, MAX_NODES);
  if (size > MAX_NODES) throw new ConfigError(file, [`the document stands for more than ${MAX_NODES} values once its aliases are expanded; write it out`]);
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  const problems = [...protoKeys(raw), ...(parsed.success ? [] : parsed.error.issues.map(describeIssue).filter((p): p is string => p !== null))];
  if (parsed.success) problems.push(...criteriaProblems(parsed.data), ...gateSourceProblems(parsed.data));
  // a name or value in a problem is what the file says: shown so that it cannot hide text or read backwards
  if (problems.length > 0) throw new ConfigError(file, problems.map(visible));
  return parsed.data!;
}

/** More values than any real config has (a large one has a few thousand). */
const MAX_NODES = 100_000;

/** How many values `doc` stands for, aliases expanded; stops counting past `max`. */
function nodeCount(doc: unknown, max: number): number {
  let n = 0;
  const stack = [doc];
  while (stack.length > 0 && n <= max) {
    const v = stack.pop();
    n++;
    if (v && typeof v === 'object') for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push(child);
  }
  return n;
}

/**
 * js-yaml keeps a `__proto__` key as an ordinary own key, and zod silently drops it from records: a
 * service (or flag) named so would vanish without a word. Refused wherever it appears, with its path.
 */
function protoKeys(doc: unknown, path: PropertyKey[] = []): string[] {
  if (Array.isArray(doc)) return doc.flatMap((v, i) => protoKeys(v, [...path, i]));
  if (!doc || typeof doc !== 'object') return [];
  return Object.keys(doc).flatMap((k) => {
    const here = [...path, k];
    if (k === '__proto__') return [`${formatPath(here)}: "__proto__" cannot be a name here (JavaScript objects reserve it); pick another`];
    return protoKeys((doc as Record<string, unknown>)[k], here);
  });
}

/** `services.checkout.rollout_plan[1].duration_minutes` */
export function formatPath(path: PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(top level)';
}

function found(input: unknown): string {
  if (input === undefined) return 'nothing';
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  return `${typeof input} ${JSON.stringify(input)}`;
}

/** One line per issue; null when protoKeys already said it. */
function describeIssue(issue: z.core.$ZodIssue): string | null {
  const at = formatPath(issue.path);
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'invalid_type':
      return `${at}: expected ${issue.expected}, found ${found(input)}`;
    case 'invalid_value':
      return `${at}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, found ${found(input)}`;
    case 'unrecognized_keys': {
      const keys = issue.keys.filter((k) => k !== '__proto__');
      if (keys.length === 0) return null;
      return `${at}: unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => JSON.stringify(k)).join(', ')}`;
    }
    case 'invalid_key':
      // a record key that broke its rule: the rule's own message says what was expected
      return `${at}: ${issue.issues.map((i) => i.message).join('; ')}, found ${found(input)}`;
    case 'too_small':
    case 'too_big':
      return `${at}: ${issue.message.replace(/^Too (small|big): /, '')}, found ${found(input)}`;
    case 'custom':
      // zod fills a refinement's input with the whole object; `absent` marks a setting that is missing
      return `${at}: ${issue.message}, found ${found(issue.params?.absent ? undefined : input)}`;
    default:
      return `${at}: ${issue.message}${input !== undefined ? `, found ${found(input)}` : ''}`;
  }
}

/** The systems a gate may ask (args.source), the provider each needs and where the gate names its project. */
const GATE_FORGES = {
  github: {
    system: 'GitHub',
    provider: 'github',
    arg: 'repo',
    pattern: /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/,
    example: 'the repository as owner/name, e.g. shop/checkout',
  },
  gitlab: {
    system: 'GitLab',
    provider: 'gitlab',
    arg: 'project',
    pattern: /^(\d+|[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)+)$/,
    example: 'the project as its path, e.g. shop/web/checkout (or its numeric id)',
  },
} as const;

/** Gates that ask a system need that system configured, and say which repository (checked here, not mid-release). */
function gateSourceProblems(cfg: QuadConfig): string[] {
  const problems: string[] = [];
  for (const [name, svc] of Object.entries(cfg.services)) {
    [
      ...svc.gates.map((g, i) => [g, `services.${name}.gates[${i}]`] as const),
      ...svc.post_checks.map((g, i) => [g, `services.${name}.post_checks[${i}]`] as const),
    ].forEach(([g, at]) => {
      const source = g.args?.source;
      if (source === undefined) return;
      const forge = typeof source === 'string' && Object.hasOwn(GATE_FORGES, source) ? GATE_FORGES[source as keyof typeof GATE_FORGES] : null;
      if (!forge) return void problems.push(`${at}.args.source: ${JSON.stringify(source)} is not a gate source (${Object.keys(GATE_FORGES).join(', ')})`);
      if (!cfg.providers[forge.provider])
        problems.push(`${at}: asks ${forge.system}, but providers.${forge.provider} is not configured (token: \${${forge.provider.toUpperCase()}_TOKEN})`);
      const place = g.args?.[forge.arg];
      if (typeof place !== 'string' || !forge.pattern.test(place)) problems.push(`${at}.args.${forge.arg}: ${forge.example}`);
      if (g.kind === 'migrations_tested' && typeof g.args?.job !== 'string')
        problems.push(`${at}.args.job: the CI job that tests the migrations, e.g. migrations`);
      if (!['tests_passed', 'benchmarks_ok', 'migrations_tested', 'review_done'].includes(g.kind))
        problems.push(`${at}: a ${g.kind} gate cannot ask ${forge.system}`);
    });
  }
  return problems;
}

function criteriaProblems(cfg: QuadConfig): string[] {
  const problems: string[] = [];
  const check = (list: string[] | undefined, at: string) =>
    (list ?? []).forEach((c, i) => {
      try {
        parseCriteria([c]);
      } catch (err) {
        problems.push(`${at}[${i}]: ${(err as Error).message}`);
      }
    });
  for (const [name, svc] of Object.entries(cfg.services)) {
    check(svc.criteria, `services.${name}.criteria`);
    svc.rollout_plan?.forEach((s, i) => check(s.criteria, `services.${name}.rollout_plan[${i}].criteria`));
  }
  cfg.feature_flag?.rollout_plan?.forEach((s, i) => check(s.criteria, `feature_flag.rollout_plan[${i}].criteria`));
  for (const [name, f] of Object.entries(cfg.flags)) f.rollout_plan?.forEach((s, i) => check(s.criteria, `flags.${name}.rollout_plan[${i}].criteria`));
  return problems;
}
