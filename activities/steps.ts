// Gates, dependencies and post-deploy checks: small named steps run as a program with an argument array
// (never a shell string) or over HTTP. Configured in YAML, so everything here is validated before it runs.
// A running step heartbeats every few seconds, stops at args.timeout_seconds, and when the activity is
// cancelled its process group gets SIGTERM, then SIGKILL after a grace period: the activity ends only
// once the process is gone, so a retry never runs beside the attempt it replaces.
import { spawn, type ChildProcess } from 'node:child_process';
import { CancelledFailure, Context } from '@temporalio/activity';
import type { Gate, Dependency } from '../contract/plan';
import type { CheckResult } from '../contract/activities';
import { DEFAULT_STEP_TIMEOUT_S, STEP_HEARTBEAT_MS, STEP_KILL_GRACE_MS, stepTimeoutMs, stepTimeoutSeconds } from '../contract/steps';
import { FailureType, configurationError, httpFailure, networkFailure, nonRetryableFailure, redact, secretEnvValues, transientFailure } from './failures';

type Args = Gate['args'];
type Step = Pick<Dependency, 'name' | 'kind' | 'args'>;
const SAFE_VALUE = /^[A-Za-z0-9][A-Za-z0-9._+:-]{0,127}$/;
const OUTPUT_TAIL_CHARS = 500;

/** How a step is run; the defaults are what the worker uses (tests shorten them). */
export interface StepRunOptions {
  /** heartbeat interval, ms (default STEP_HEARTBEAT_MS, 1 s) */
  heartbeatMs?: number;
  /** after SIGTERM, how long before SIGKILL, ms (default STEP_KILL_GRACE_MS) */
  killGraceMs?: number;
}

/** The activity's Context, or undefined when called outside an activity (a script, a unit test). */
function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

function argList(args: Args, key: string, where: string): string[] | undefined {
  const v = args?.[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0 || !v[0]) {
    throw configurationError(`${where}: args.${key} must be a list like ["./check.sh", "\${version}"], got ${JSON.stringify(v)}`);
  }
  return v;
}

/** args.timeout_seconds in ms; a value that is not a positive number is a configuration error. */
function timeoutOf(args: Args, where: string): number {
  const raw = args?.timeout_seconds;
  if (raw !== undefined && stepTimeoutSeconds(raw) === undefined) {
    throw configurationError(
      `${where}: args.timeout_seconds must be a positive number of seconds, got ${JSON.stringify(raw)} (default ${DEFAULT_STEP_TIMEOUT_S})`,
    );
  }
  return stepTimeoutMs({ args });
}

/** Fills ${service} and ${version} per argument; the values were validated, and no shell ever reads them. */
export function renderCommand(argv: string[], values: { service: string; version: string }): string[] {
  for (const [k, v] of Object.entries(values)) {
    if (!SAFE_VALUE.test(v)) throw nonRetryableFailure(FailureType.Rejected, `refusing to run with ${k} ${JSON.stringify(v)}: it must match ${SAFE_VALUE}`);
  }
  return argv.map((a) => a.replace(/\$\{(service|version)\}/g, (_, k: 'service' | 'version') => values[k]));
}

export interface CommandOutcome {
  ok: boolean;
  /** the last lines of stdout and stderr, with the values of secret-looking env vars cut out */
  output: string;
  /** exit code, or null when a signal ended it or it never started */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** it ran past its timeout and was stopped */
  timedOut: boolean;
  /** the activity was cancelled and the process stopped */
  cancelled: boolean;
  /** it could not be started (ENOENT, EACCES, …) */
  spawnError?: string;
}

/** Signals the whole process group (the program and whatever it started); quiet when it is gone. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Runs a program (argv[0]) with its arguments, no shell, in its own process group. While it runs, the
 * activity heartbeats; on timeout or cancellation the group gets SIGTERM, then SIGKILL after the grace
 * period. Resolves once the process has exited and its output is closed: never while it still runs.
 */
export function runCommand(argv: string[], timeoutMs = DEFAULT_STEP_TIMEOUT_S * 1000, opts: StepRunOptions & { label?: string } = {}): Promise<CommandOutcome> {
  const ctx = currentContext();
  const heartbeatMs = opts.heartbeatMs ?? STEP_HEARTBEAT_MS;
  const graceMs = opts.killGraceMs ?? STEP_KILL_GRACE_MS;
  const started = Date.now();
  return new Promise((resolve) => {
    let output = '';
    let timedOut = false;
    let cancelled = false;
    let stopping = false;
    let done = false;
    let spawnError: string | undefined;
    const timers: NodeJS.Timeout[] = [];
    let child: ChildProcess;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (done) return;
      done = true;
      timers.forEach((t) => clearTimeout(t));
      clearInterval(beat);
      ctx?.cancellationSignal.removeEventListener('abort', onAbort);
      // the tail goes into errors and gate details (workflow history): secret-looking env values are cut out
      const tail = redact(output, secretEnvValues()).trim().split('\n').slice(-5).join('\n').slice(-OUTPUT_TAIL_CHARS);
      resolve({
        ok: !spawnError && !timedOut && !cancelled && code === 0,
        output: tail,
        code,
        signal,
        timedOut,
        cancelled,
        ...(spawnError ? { spawnError } : {}),
      });
    };
    const stop = () => {
      if (stopping || done) return;
      stopping = true;
      signalGroup(child, 'SIGTERM');
      timers.push(setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs));
    };
    const onAbort = () => {
      cancelled = true;
      stop();
    };
    const heartbeat = () => ctx?.heartbeat({ step: opts.label ?? argv[0], elapsedS: Math.round((Date.now() - started) / 1000) });
    const beat = setInterval(heartbeat, heartbeatMs);
    try {
      // its own process group (detached), so a stop reaches whatever it started too
      child = spawn(argv[0], argv.slice(1), { shell: false, detached: true, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      spawnError = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      return finish(null, null);
    }
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-8 * OUTPUT_TAIL_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('error', (err: NodeJS.ErrnoException) => {
      spawnError = err.code ?? err.message;
      if (child.pid === undefined) finish(null, null); // never started: no 'close' to wait for
    });
    child.once('close', (code, signal) => finish(code, signal));
    heartbeat();
    timers.push(
      setTimeout(() => {
        timedOut = true;
        stop();
      }, timeoutMs),
    );
    if (ctx?.cancellationSignal.aborted) onAbort();
    else ctx?.cancellationSignal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The reason the activity was cancelled, as Temporal expects it back. */
function cancellation(ctx: Context | undefined, what: string): Error {
  const reason = ctx?.cancellationSignal.reason as unknown;
  return reason instanceof Error ? reason : new CancelledFailure(`${what}: cancelled`);
}

async function httpCheck(url: string, timeoutMs = 30_000): Promise<CheckResult> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    await res.arrayBuffer().catch(() => undefined);
    return { ok: res.ok, detail: `GET ${url} → ${res.status}` };
  } catch (err) {
    return { ok: false, detail: `GET ${url} failed: ${(err as Error).message}` };
  }
}

/**
 * A gate passes when its check does: `command` (exit 0) or `url` (2xx) in args. The named kinds
 * (tests_passed, review_done, …) say what is being checked; the command or URL says how. A gate with
 * nothing to run fails: an unchecked gate must never pass silently. Gates that ask a system
 * (`args.source`) and `rollback_plan` are judged in ./gates, which calls this for the rest.
 */
export async function checkGate(service: string, version: string, gate: Gate): Promise<CheckResult> {
  const where = `gate ${gate.name}`;
  const command = argList(gate.args, 'command', where);
  if (command) {
    const r = await runCommand(renderCommand(command, { service, version }), timeoutOf(gate.args, where), { label: gate.name });
    if (r.cancelled) throw cancellation(currentContext(), where);
    if (r.spawnError) return { ok: false, detail: `cannot run ${command[0]}: ${r.spawnError}` };
    if (r.timedOut) return { ok: false, detail: `timed out after ${timeoutOf(gate.args, where) / 1000} s${r.output ? `: ${r.output}` : ''}` };
    return { ok: r.ok, detail: r.output || (r.ok ? 'passed' : 'failed') };
  }
  if (typeof gate.args?.url === 'string') return httpCheck(renderCommand([gate.args.url], { service, version })[0]);
  return { ok: false, detail: `gate ${gate.kind} has no command or url to check it with` };
}

/**
 * Runs one dependency step (or its undo). Configuration mistakes (no command or URL, an unknown kind,
 * a program that does not exist, a webhook refusing our request) are non-retryable ConfigurationErrors;
 * a failing or timed-out command and a webhook that is down are retryable.
 */
export function runStep(service: string, version: string, step: Step): Promise<string> {
  return runStepWith(service, version, step);
}

/** runStep with its timings adjustable (tests); the activity uses the defaults. */
export async function runStepWith(service: string, version: string, step: Step, opts: StepRunOptions = {}): Promise<string> {
  const where = `step ${step.name}`;
  if (step.kind === 'noop') return 'nothing to do';
  if (step.kind === 'command') {
    const command = argList(step.args, 'command', where);
    if (!command) throw configurationError(`${where}: a command step needs args.command, e.g. ["./migrate.sh", "up"]`);
    const timeoutMs = timeoutOf(step.args, where);
    const r = await runCommand(renderCommand(command, { service, version }), timeoutMs, { ...opts, label: step.name });
    if (r.cancelled) throw cancellation(currentContext(), where);
    if (r.spawnError) {
      throw configurationError(
        `${where}: cannot run ${command[0]} (${r.spawnError}): check args.command; the program must exist on the worker and be executable`,
      );
    }
    if (r.timedOut) {
      throw transientFailure(
        `${where} timed out after ${timeoutMs / 1000} s and was stopped${r.output ? `: ${r.output}` : ''} (raise args.timeout_seconds if it needs longer)`,
        { step: step.name, timedOut: true },
      );
    }
    if (!r.ok) {
      const how = r.code !== null ? `exited with code ${r.code}` : `was killed by ${r.signal}`;
      throw transientFailure(`${where} failed: ${command[0]} ${how}${r.output ? `: ${r.output}` : ''}`, {
        step: step.name,
        ...(r.code !== null ? { exitCode: r.code } : {}),
      });
    }
    return r.output || 'done';
  }
  if (step.kind === 'webhook') return webhookStep(service, version, step, where, opts);
  throw configurationError(`${where}: unknown step kind ${JSON.stringify(step.kind)} (use command, webhook or noop)`);
}

async function webhookStep(service: string, version: string, step: Step, where: string, opts: StepRunOptions): Promise<string> {
  const url = step.args?.url;
  if (typeof url !== 'string' || !url) throw configurationError(`${where}: a webhook step needs args.url, e.g. "https://ops.internal/warm-cache"`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw configurationError(`${where}: args.url ${JSON.stringify(url)} is not a URL`);
  }
  const timeoutMs = timeoutOf(step.args, where);
  const ctx = currentContext();
  const signals = [AbortSignal.timeout(timeoutMs), ...(ctx ? [ctx.cancellationSignal] : [])];
  const target = `POST ${parsed.origin}${parsed.pathname}`;
  const beat = setInterval(() => ctx?.heartbeat({ step: step.name }), opts.heartbeatMs ?? STEP_HEARTBEAT_MS);
  ctx?.heartbeat({ step: step.name });
  try {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `${service}:${version}:${step.name}` },
        body: JSON.stringify({ service, version, step: step.name }),
        signal: AbortSignal.any(signals),
        redirect: 'error',
      });
    } catch (err) {
      if (ctx?.cancellationSignal.aborted) throw cancellation(ctx, where);
      throw networkFailure(`${where} webhook`, target, err, { timeoutMs });
    }
    const text = await res.text().catch(() => '');
    if (!res.ok) {
      throw httpFailure(`${where} webhook`, res.status, text, {
        what: target,
        credential: 'a request without a token (steps send none)',
        urlSetting: `args.url of ${where}`,
        fix: `point args.url of ${where} at an endpoint that takes the step's request as it is`,
      });
    }
    return `webhook ${res.status}`;
  } finally {
    clearInterval(beat);
  }
}
