// A deploy command as a deployer: runs a configured program with execFile and an argument array, never
// a shell string, so nothing in a version or service name can be interpreted by a shell. Each argument
// is templated on its own (${phase}, ${service}, ${version}, ${previousVersion}, ${percent}, ${region}); values
// are checked against strict patterns first, so they can neither smuggle a metacharacter into a
// script that later uses a shell nor pass as an option (no leading "-").
// Failures are ApplicationFailures (../../failures): a bad template or a program that cannot be run is a
// non-retryable ConfigurationError, a refused value a non-retryable RequestRejected; a non-zero exit or a
// timeout is retryable (the deploy sets an absolute split, so running it again is safe).
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { DeployCheck, Deployer, TrafficState, TrafficTarget } from '../types';
import { FailureType, configurationError, nonRetryableFailure, redact as redactValues, secretEnvValues, transientFailure } from '../../failures';

export interface CommandDeployerOptions {
  /** program and arguments, e.g. ["./deploy.sh", "--version", "${version}", "--percent", "${percent}"] */
  command: string[];
  /** optional program printing the current split as JSON {percent, version, previousVersion} (or null) */
  statusCommand?: string[];
  /** default 5 minutes; the program gets SIGTERM when it runs longer */
  timeoutMs?: number;
  cwd?: string;
}

const refused = (message: string) => nonRetryableFailure(FailureType.Rejected, message, { system: 'command deployer' });
const badConfig = (message: string) => configurationError(message, { system: 'command deployer' });

export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const PLACEHOLDER = /\$\{([A-Za-z]+)\}/g;
const FIELDS = ['phase', 'service', 'version', 'previousVersion', 'percent', 'region'] as const;
/** What `${phase}` says: the lifecycle step the command is run for. */
export type Phase = 'prepare' | 'shift' | 'promote' | 'retire' | 'revert' | 'check';
type Field = (typeof FIELDS)[number];
const STDERR_TAIL_CHARS = 1000;
const STDERR_TAIL_LINES = 20;

function checkTemplate(argv: string[], what: string, allowed: readonly Field[]): void {
  if (argv.length === 0 || !argv[0]) throw badConfig(`${what} needs a program`);
  if (argv[0].includes('${')) throw badConfig(`${what}: the program itself cannot be templated`);
  for (const arg of argv) {
    for (const [, name] of arg.matchAll(PLACEHOLDER)) {
      if (!(allowed as readonly string[]).includes(name)) {
        throw badConfig(`${what}: unknown placeholder \${${name}} (allowed: ${allowed.join(', ')})`);
      }
    }
  }
}

/** The values a template may use, after validation. */
function fieldValues(target: TrafficTarget, percent: number | null, phase: Phase = 'shift'): Record<Field, string> {
  const refuse = (what: string, value: unknown, pattern: RegExp) => refused(`refused ${what} ${JSON.stringify(value)}: it must match ${pattern}`);
  if (typeof target.service !== 'string' || !NAME_PATTERN.test(target.service)) throw refuse('service', target.service, NAME_PATTERN);
  if (typeof target.version !== 'string' || !VERSION_PATTERN.test(target.version)) throw refuse('version', target.version, VERSION_PATTERN);
  if (target.previousVersion !== null && (typeof target.previousVersion !== 'string' || !VERSION_PATTERN.test(target.previousVersion))) {
    throw refuse('previous version', target.previousVersion, VERSION_PATTERN);
  }
  if (target.region !== undefined && (typeof target.region !== 'string' || !NAME_PATTERN.test(target.region))) {
    throw refuse('region', target.region, NAME_PATTERN);
  }
  if (percent !== null && (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100)) {
    throw refused(`refused percent ${percent}: it must be 0..100`);
  }
  return {
    phase,
    service: target.service,
    version: target.version,
    previousVersion: target.previousVersion ?? '',
    percent: percent === null ? '' : String(percent),
    region: target.region ?? '',
  };
}

export function renderArgs(argv: string[], values: Record<Field, string>): string[] {
  return argv.map((arg) => arg.replace(PLACEHOLDER, (_, name: Field) => values[name]));
}

/** Values of secret-looking env vars are cut out of anything we put into an error message. */
function redact(text: string): string {
  return redactValues(text, secretEnvValues());
}

/** The last lines of a program's output: where the reason for a failure usually is. */
function tail(text: string): string {
  const lines = text.trimEnd().split('\n');
  let out = lines.slice(-STDERR_TAIL_LINES).join('\n');
  if (out.length > STDERR_TAIL_CHARS) out = out.slice(-STDERR_TAIL_CHARS);
  return lines.length > STDERR_TAIL_LINES || out.length === STDERR_TAIL_CHARS ? `…${out}` : out;
}

export class CommandDeployer implements Deployer {
  readonly name = 'command';
  private readonly timeoutMs: number;

  constructor(private readonly opts: CommandDeployerOptions) {
    checkTemplate(opts.command, 'deploy command', FIELDS);
    if (opts.statusCommand)
      checkTemplate(
        opts.statusCommand,
        'status command',
        FIELDS.filter((f) => f !== 'percent'),
      );
    this.timeoutMs = opts.timeoutMs ?? 5 * 60_000;
  }

  /** A command with `${phase}` in its arguments is run for every lifecycle step; one without, only to move traffic. */
  private get phased(): boolean {
    return this.opts.command.some((a) => a.includes('${phase}'));
  }

  private async runPhase(phase: Phase, target: TrafficTarget, percent: number | null): Promise<string> {
    const values = fieldValues(target, percent, phase);
    return this.run(renderArgs(this.opts.command, values), values);
  }

  async prepare(target: TrafficTarget): Promise<{ detail: string }> {
    if (!this.phased) return { detail: 'the deploy command has no ${phase}: nothing to prepare' };
    return { detail: tail(redact(await this.runPhase('prepare', target, 0))) || 'prepared' };
  }

  async shift(target: TrafficTarget, percent: number): Promise<TrafficState> {
    await this.runPhase('shift', target, percent);
    return { percent, version: target.version, previousVersion: target.previousVersion };
  }

  /** @deprecated the lifecycle's `shift` */
  setTraffic(target: TrafficTarget, percent: number): Promise<TrafficState> {
    return this.shift(target, percent);
  }

  async promote(target: TrafficTarget): Promise<TrafficState> {
    if (this.phased) await this.runPhase('promote', target, 100);
    return { percent: 100, version: target.version, previousVersion: null };
  }

  async retire(target: TrafficTarget): Promise<{ detail: string }> {
    if (!this.phased) return { detail: 'the deploy command has no ${phase}: nothing to retire' };
    return { detail: tail(redact(await this.runPhase('retire', target, null))) || 'retired' };
  }

  /** Without `${phase}`, a revert is the command at 0 %: the same call the undo always made. */
  async revert(target: TrafficTarget): Promise<TrafficState> {
    await this.runPhase(this.phased ? 'revert' : 'shift', target, 0);
    return { percent: 0, version: target.version, previousVersion: target.previousVersion };
  }

  async check(service: string): Promise<DeployCheck[]> {
    const program = this.opts.command[0];
    try {
      accessSync(program, constants.X_OK);
    } catch {
      if (program.includes('/'))
        return [{ name: `run ${program} for ${service}`, ok: false, detail: `${program} is missing or not executable on this worker` }];
    }
    const checks: DeployCheck[] = [
      { name: `run ${program} for ${service}`, ok: true, detail: program.includes('/') ? 'executable' : 'looked up on PATH when run' },
    ];
    if (this.phased) {
      try {
        const out = await this.runPhase('check', { service, version: 'check', previousVersion: null }, null);
        checks.push({ name: `${program} check`, ok: true, detail: tail(redact(out)) || 'exit 0' });
      } catch (err) {
        checks.push({ name: `${program} check`, ok: false, detail: (err as Error).message });
      }
    }
    return checks;
  }

  async currentTraffic(target: TrafficTarget): Promise<TrafficState | null> {
    if (!this.opts.statusCommand) return null; // the command gives no way to ask
    const values = fieldValues(target, null);
    const stdout = (await this.run(renderArgs(this.opts.statusCommand, values), values)).trim();
    if (stdout === '' || stdout === 'null') return null;
    let parsed: Partial<TrafficState>;
    try {
      parsed = JSON.parse(stdout) as Partial<TrafficState>;
    } catch {
      throw badConfig(`status command printed no JSON: ${tail(redact(stdout))}`);
    }
    if (typeof parsed.percent !== 'number' || typeof parsed.version !== 'string') {
      throw badConfig('status command JSON needs a numeric "percent" and a string "version"');
    }
    return { percent: parsed.percent, version: parsed.version, previousVersion: parsed.previousVersion ?? null };
  }

  private run(argv: string[], values: Record<Field, string>): Promise<string> {
    const [program, ...args] = argv;
    const env = {
      ...process.env,
      QUAD_PHASE: values.phase,
      QUAD_SERVICE: values.service,
      QUAD_VERSION: values.version,
      QUAD_PREVIOUS_VERSION: values.previousVersion,
      QUAD_PERCENT: values.percent,
      QUAD_REGION: values.region,
    };
    return new Promise((resolve, reject) => {
      execFile(
        program,
        args,
        { cwd: this.opts.cwd, env, timeout: this.timeoutMs, killSignal: 'SIGTERM', maxBuffer: 4 * 1024 * 1024, shell: false },
        (error, stdout, stderr) => {
          if (!error) return resolve(stdout);
          const err = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: number | string };
          const stderrTail = tail(redact(String(stderr)));
          const suffix = stderrTail ? `; stderr: ${stderrTail}` : '';
          if (err.code === 'ENOENT' || err.code === 'EACCES') {
            return reject(
              badConfig(`cannot run ${program}: ${err.code}: check the deployer's command; the program must exist on the worker and be executable`),
            );
          }
          if (err.killed && err.code !== 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
            return reject(transientFailure(`${program} timed out after ${this.timeoutMs / 1000} s${suffix}`, { system: 'command deployer' }));
          }
          const how = typeof err.code === 'number' ? `exited with code ${err.code}` : `was killed by ${err.signal ?? err.code}`;
          reject(
            transientFailure(`${program} ${how}${suffix}`, { system: 'command deployer', ...(typeof err.code === 'number' ? { exitCode: err.code } : {}) }),
          );
        },
      );
    });
  }
}
