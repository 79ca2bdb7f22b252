// A deploy command as a deployer: runs a configured program with execFile and an argument array, never
// a shell string, so nothing in a version or service name can be interpreted by a shell. Each argument
// is templated on its own (${service}, ${version}, ${previousVersion}, ${percent}, ${region}); values
// are checked against strict patterns first, so they can neither smuggle a metacharacter into a
// script that later uses a shell nor pass as an option (no leading "-").
import { execFile } from 'node:child_process';
import type { Deployer, TrafficState, TrafficTarget } from '../types';

export interface CommandDeployerOptions {
  /** program and arguments, e.g. ["./deploy.sh", "--version", "${version}", "--percent", "${percent}"] */
  command: string[];
  /** optional program printing the current split as JSON {percent, version, previousVersion} (or null) */
  statusCommand?: string[];
  /** default 5 minutes; the program gets SIGTERM when it runs longer */
  timeoutMs?: number;
  cwd?: string;
}

export class CommandDeployerError extends Error {
  constructor(
    message: string,
    /** false when repeating cannot help (refused input, bad config) */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'CommandDeployerError';
  }
}

export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const PLACEHOLDER = /\$\{([A-Za-z]+)\}/g;
const FIELDS = ['service', 'version', 'previousVersion', 'percent', 'region'] as const;
type Field = (typeof FIELDS)[number];
const STDERR_TAIL_CHARS = 1000;
const STDERR_TAIL_LINES = 20;
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|API_?KEY|PRIVATE/i;

function checkTemplate(argv: string[], what: string, allowed: readonly Field[]): void {
  if (argv.length === 0 || !argv[0]) throw new CommandDeployerError(`${what} needs a program`, false);
  if (argv[0].includes('${')) throw new CommandDeployerError(`${what}: the program itself cannot be templated`, false);
  for (const arg of argv) {
    for (const [, name] of arg.matchAll(PLACEHOLDER)) {
      if (!(allowed as readonly string[]).includes(name)) {
        throw new CommandDeployerError(`${what}: unknown placeholder \${${name}} (allowed: ${allowed.join(', ')})`, false);
      }
    }
  }
}

/** The values a template may use, after validation. */
function fieldValues(target: TrafficTarget, percent: number | null): Record<Field, string> {
  const refuse = (what: string, value: unknown, pattern: RegExp) =>
    new CommandDeployerError(`refused ${what} ${JSON.stringify(value)}: it must match ${pattern}`, false);
  if (typeof target.service !== 'string' || !NAME_PATTERN.test(target.service)) throw refuse('service', target.service, NAME_PATTERN);
  if (typeof target.version !== 'string' || !VERSION_PATTERN.test(target.version)) throw refuse('version', target.version, VERSION_PATTERN);
  if (target.previousVersion !== null && (typeof target.previousVersion !== 'string' || !VERSION_PATTERN.test(target.previousVersion))) {
    throw refuse('previous version', target.previousVersion, VERSION_PATTERN);
  }
  if (target.region !== undefined && (typeof target.region !== 'string' || !NAME_PATTERN.test(target.region))) {
    throw refuse('region', target.region, NAME_PATTERN);
  }
  if (percent !== null && (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100)) {
    throw new CommandDeployerError(`refused percent ${percent}: it must be 0..100`, false);
  }
  return {
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
  let out = text;
  for (const [name, value] of Object.entries(process.env)) {
    if (value && value.length >= 6 && SECRET_NAME.test(name)) out = out.split(value).join('[redacted]');
  }
  return out;
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
    if (opts.statusCommand) checkTemplate(opts.statusCommand, 'status command', FIELDS.filter((f) => f !== 'percent'));
    this.timeoutMs = opts.timeoutMs ?? 5 * 60_000;
  }

  async setTraffic(target: TrafficTarget, percent: number): Promise<TrafficState> {
    const values = fieldValues(target, percent);
    await this.run(renderArgs(this.opts.command, values), values);
    return { percent, version: target.version, previousVersion: target.previousVersion };
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
      throw new CommandDeployerError(`status command printed no JSON: ${tail(redact(stdout))}`, false);
    }
    if (typeof parsed.percent !== 'number' || typeof parsed.version !== 'string') {
      throw new CommandDeployerError('status command JSON needs a numeric "percent" and a string "version"', false);
    }
    return { percent: parsed.percent, version: parsed.version, previousVersion: parsed.previousVersion ?? null };
  }

  private run(argv: string[], values: Record<Field, string>): Promise<string> {
    const [program, ...args] = argv;
    const env = {
      ...process.env,
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
            return reject(new CommandDeployerError(`cannot run ${program}: ${err.code}`, false));
          }
          if (err.killed && err.code !== 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
            return reject(new CommandDeployerError(`${program} timed out after ${this.timeoutMs / 1000} s${suffix}`, true));
          }
          const how = typeof err.code === 'number' ? `exited with code ${err.code}` : `was killed by ${err.signal ?? err.code}`;
          reject(new CommandDeployerError(`${program} ${how}${suffix}`, true));
        },
      );
    });
  }
}
