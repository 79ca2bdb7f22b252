// Gates, dependencies and post-deploy checks: small named steps run by execFile (never a shell string)
// or over HTTP. Configured in YAML, so everything here is validated before it runs.
import { execFile } from 'node:child_process';
import type { Gate, Dependency } from '../contract/plan';
import type { CheckResult } from '../contract/activities';

type Args = Gate['args'];
const SAFE_VALUE = /^[A-Za-z0-9][A-Za-z0-9._+:-]{0,127}$/;

function argList(args: Args, key: string): string[] | undefined {
  const v = args?.[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0) throw new Error(`args.${key} must be a list like ["./check.sh", "\${version}"]`);
  return v;
}

/** Fills ${service} and ${version} per argument; the values were validated, and no shell ever reads them. */
export function renderCommand(argv: string[], values: { service: string; version: string }): string[] {
  for (const [k, v] of Object.entries(values)) if (!SAFE_VALUE.test(v)) throw new Error(`refusing to run with ${k} ${JSON.stringify(v)}`);
  return argv.map((a) => a.replace(/\$\{(service|version)\}/g, (_, k: 'service' | 'version') => values[k]));
}

export function runCommand(argv: string[], timeoutMs = 10 * 60_000): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(argv[0], argv.slice(1), { timeout: timeoutMs, maxBuffer: 1 << 20, shell: false }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim().split('\n').slice(-5).join('\n').slice(-500);
      resolve({ ok: !err, output: err && !output ? err.message : output });
    });
  });
}

async function httpCheck(url: string, timeoutMs = 30_000): Promise<CheckResult> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    return { ok: res.ok, detail: `GET ${url} → ${res.status}` };
  } catch (err) {
    return { ok: false, detail: `GET ${url} failed: ${(err as Error).message}` };
  }
}

/**
 * A gate passes when its check does: `command` (exit 0) or `url` (2xx) in args. The named kinds
 * (tests_passed, review_done, …) say what is being checked; the command or URL says how. A gate with
 * nothing to run fails: an unchecked gate must never pass silently. `rollback_plan` passes on its own,
 * because every traffic and flag step of a release registers its undo.
 */
export async function checkGate(service: string, version: string, gate: Gate): Promise<CheckResult> {
  const command = argList(gate.args, 'command');
  if (command) {
    const r = await runCommand(renderCommand(command, { service, version }), Number(gate.args?.timeout_seconds ?? 600) * 1000);
    return { ok: r.ok, detail: r.output || (r.ok ? 'passed' : 'failed') };
  }
  if (typeof gate.args?.url === 'string') return httpCheck(renderCommand([gate.args.url], { service, version })[0]);
  if (gate.kind === 'rollback_plan') return { ok: true, detail: 'every change registers its undo; traffic returns to the previous version' };
  return { ok: false, detail: `gate ${gate.kind} has no command or url to check it with` };
}

export async function runStep(service: string, version: string, step: Pick<Dependency, 'name' | 'kind' | 'args'>): Promise<string> {
  if (step.kind === 'noop') return 'nothing to do';
  if (step.kind === 'command') {
    const command = argList(step.args, 'command');
    if (!command) throw new Error(`${step.name}: a command step needs args.command`);
    const r = await runCommand(renderCommand(command, { service, version }), Number(step.args?.timeout_seconds ?? 600) * 1000);
    if (!r.ok) throw new Error(`${step.name} failed: ${r.output}`);
    return r.output || 'done';
  }
  if (step.kind === 'webhook') {
    const url = step.args?.url;
    if (typeof url !== 'string') throw new Error(`${step.name}: a webhook step needs args.url`);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `${service}:${version}:${step.name}` },
      body: JSON.stringify({ service, version, step: step.name }),
      signal: AbortSignal.timeout(60_000),
      redirect: 'error',
    });
    if (!res.ok) throw new Error(`${step.name}: webhook answered ${res.status}`);
    return `webhook ${res.status}`;
  }
  throw new Error(`${step.name}: unknown step kind ${JSON.stringify(step.kind)}`);
}
