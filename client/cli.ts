// The `quad` CLI: start and steer releases from a terminal or a script. Everything goes through
// Releases (client/releases.ts), so the CLI gives the same checks and answers as Slack.
// runCli takes its streams, config and Releases from the caller, so tests run it in-process.
//
// Exit codes: 0 released / ok, 1 rolled back, failed, rejected or cancelled (or Temporal unreachable),
// 2 bad input or refused (a malformed version, an unknown service, a release already running, a
// command the workflow turned down, an invalid config).
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadConfig, DEFAULT_CONFIG_PATH } from '../config/load';
import { ConfigError, InputError } from '../config/errors';
import { commandAuthOf, resolveRelease, resolveFlagRamp, serviceConfig, validateVersionShape, type ReleaseAsk } from '../config/resolve';
import type { QuadConfig } from '../config/schema';
import type { ReleasePlan, Strategy } from '../contract/plan';
import { COMMANDS, type Command as ReleaseCommand, type ReleaseResult, type ReleaseStatus, type Status } from '../contract/messages';
import { Releases, type Started } from './releases';
import { connectClient, temporalSettings } from '../temporal/connection';
import { ProgressView, describeStatus, finalLine, listTable, formatDuration, visible, type Out } from './cli/render';
import { resolveTrain, trainLine } from './trains';
import { releaseRecords } from './release-records';
import { formatReport, parseSince, summarize } from './report';
import { releaseChartSvg } from './report-chart';
import { Schedules, validateCron, validateScheduleName, validateTimeZone, type ScheduleAsk } from './schedules';
import { generateSigningKey, personalSigner, publicKeyLine, loadPrivateKey, type CommandSigner } from './signing';
import { applyDashboards } from './dashboards/apply';

export const EXIT = { ok: 0, failed: 1, refused: 2 } as const;

/** What the CLI needs of Releases; tests may hand in their own (on a test server). */
export type ReleasesApi = Pick<
  Releases,
  'release' | 'flagRamp' | 'status' | 'result' | 'command' | 'list' | 'liveCheck' | 'train' | 'trainStatus' | 'trainResult'
>;

export interface CliIO {
  stdout: Out;
  stderr: Out;
  env?: NodeJS.ProcessEnv;
  /** skips loading the config file */
  config?: QuadConfig;
  /** skips connecting to Temporal */
  releases?: ReleasesApi;
  /** how often `status` and `--wait` ask the workflow; 1 s by default */
  pollMs?: number;
}

const STATUSES: Status[] = ['running', 'succeeded', 'rolled_back', 'failed', 'rejected', 'cancelled', 'rollback_failed'];

export const exitFor = (status: Status): number => (status === 'running' || status === 'succeeded' ? EXIT.ok : EXIT.failed);

/** Not the person's fault, but nothing happened either: exit 1 with the reason. */
class UnreachableError extends Error {}

/** Lazily loads the config and connects, so `--help` and bad input never touch a file or a server. */
class Session {
  private cfg?: QuadConfig;
  private rel?: ReleasesApi;
  private signed?: ReleasesApi;
  private close?: () => Promise<void>;

  constructor(
    private readonly io: CliIO,
    private readonly env: NodeJS.ProcessEnv,
    private readonly configFile: () => string | undefined,
  ) {}

  configPath(): string {
    return this.configFile() ?? this.env.QUAD_CONFIG ?? DEFAULT_CONFIG_PATH;
  }

  config(): QuadConfig {
    return (this.cfg ??= this.io.config ?? loadConfig(this.configPath()));
  }

  async releases(): Promise<ReleasesApi> {
    if (this.io.releases) return this.io.releases;
    if (this.rel) return this.rel;
    const cfg = this.config();
    const settings = temporalSettings(cfg, this.env);
    let conn;
    try {
      conn = await connectClient(cfg, this.env);
    } catch (err) {
      throw new UnreachableError(`cannot reach Temporal at ${settings.address} (namespace ${settings.namespace}): ${(err as Error).message}`);
    }
    this.close = conn.close;
    this.rel = new Releases(conn.client, cfg, conn.settings.taskQueue);
    return this.rel;
  }

  /** Releases whose commands are signed with the person's key (config, $QUAD_SIGNING_KEY or ~/.ssh/id_ed25519). */
  async signingReleases(): Promise<ReleasesApi> {
    if (this.io.releases) return this.io.releases;
    if (this.signed) return this.signed;
    const cfg = this.config();
    const signer: CommandSigner | null = personalSigner(cfg, this.env);
    if (!signer && cfg.security.require_signed_commands) {
      throw new InputError(
        'commands are signed, and no key was found: set QUAD_SIGNING_KEY or security.signing_key to your Ed25519 key (or ~/.ssh/id_ed25519); `quad keygen` makes one',
      );
    }
    const plain = (await this.releases()) as Releases;
    this.signed = new Releases(plain.client, cfg, plain.taskQueue, signer);
    return this.signed;
  }

  async end(): Promise<void> {
    await this.close?.().catch(() => undefined);
  }
}

function onlyService(cfg: QuadConfig): string {
  const names = Object.keys(cfg.services);
  if (names.length === 1) return names[0];
  if (names.length === 0) throw new InputError('no services are configured');
  throw new InputError(`several services are configured (${names.join(', ')}): name one`);
}

function requester(by: string | undefined, env: NodeJS.ProcessEnv): string {
  const who = by ?? env.QUAD_USER ?? env.USER;
  if (!who) throw new InputError('who is asking? pass --by NAME or set QUAD_USER');
  return who;
}

function planText(plan: ReleasePlan): string {
  return plan.stages.map((s) => `${s.name}${s.durationMs ? ` ${formatDuration(s.durationMs)}` : ''}${s.approval ? ' (team approval)' : ''}`).join(' → ');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const json = (out: Out, doc: unknown) => out.write(JSON.stringify(doc, null, 2) + '\n');

export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const env = io.env ?? process.env;
  const pollMs = io.pollMs ?? 1000;
  const { stdout, stderr } = io;
  let exit: number = EXIT.ok;

  const program = new Command('quad')
    .description('Production releases as durable Temporal workflows: start, watch and steer them.')
    .option('--config <file>', `the config file (default: $QUAD_CONFIG or ${DEFAULT_CONFIG_PATH})`)
    .exitOverride()
    .configureOutput({ writeOut: (s) => stdout.write(s), writeErr: (s) => stderr.write(s) })
    .showSuggestionAfterError()
    .addHelpText('after', '\nExit codes: 0 released / ok, 1 rolled back or failed, 2 bad input or refused.');
  const session = new Session(io, env, () => program.opts<{ config?: string }>().config);
  const act =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      exit = await fn(...args);
    };

  /** Follows a release until it is done; progress goes to `view` unless the output is JSON. */
  async function follow(rel: ReleasesApi, id: string, view: ProgressView | null): Promise<{ status: ReleaseStatus; result: ReleaseResult | null }> {
    let failingSince: number | null = null;
    for (;;) {
      let s: ReleaseStatus;
      try {
        s = await rel.status(id);
        failingSince = null;
      } catch (err) {
        // A worker restarting mid-release makes queries fail for a while; the release goes on.
        if (err instanceof InputError) throw err;
        failingSince ??= Date.now();
        if (Date.now() - failingSince > 60_000) throw err;
        await sleep(pollMs);
        continue;
      }
      view?.update(s);
      if (s.status !== 'running') return { status: s, result: await rel.result(id).catch(() => null) };
      await sleep(pollMs);
    }
  }

  async function finish(rel: ReleasesApi, id: string, asJson: boolean, extra: Record<string, unknown> = {}): Promise<number> {
    const { status, result } = await follow(rel, id, asJson ? null : new ProgressView(stdout));
    if (asJson) json(stdout, { ...extra, workflowId: id, status, result });
    else (status.status === 'succeeded' ? stdout : stderr).write(finalLine(status, result) + '\n');
    return exitFor(result?.status ?? status.status);
  }

  async function started(rel: ReleasesApi, s: Started, plan: ReleasePlan, follows: string, opts: { wait?: boolean; json?: boolean }): Promise<number> {
    const doc = {
      workflowId: s.workflowId,
      runId: s.runId,
      url: s.url,
      service: plan.service,
      version: plan.version,
      strategy: plan.strategy,
      stages: plan.stages.map((st) => st.name),
    };
    if (!opts.json) {
      stdout.write(`started ${s.workflowId}: ${plan.service} ${plan.version} · ${plan.strategy}\n`);
      stdout.write(`  plan: ${planText(plan)}\n`);
      stdout.write(`  Web UI: ${s.url}\n`);
      if (!opts.wait) stdout.write(`  follow it: quad status ${follows}\n`);
    }
    if (!opts.wait) {
      if (opts.json) json(stdout, doc);
      return EXIT.ok;
    }
    return finish(rel, s.workflowId, opts.json === true, { runId: s.runId, url: s.url });
  }

  program
    .command('release')
    .description('start a release of a version; prints its workflow id and Web UI link')
    .argument('<version>', 'the version to release, e.g. v1.2.3')
    .option('-s, --service <service>', 'the service (default: the only configured one)')
    .addOption(new Option('--strategy <strategy>', "how to roll out (default: the service's)").choices(['canary', 'blue-green', 'ab']))
    .option('--by <name>', 'who asks (default: $QUAD_USER or $USER)')
    .option('--reason <text>', 'why, for the record')
    .option('-w, --wait', 'follow it until it is done; exit 0 released, 1 rolled back')
    .option('--json', 'one JSON document on stdout')
    .option('--request-id <id>', 'makes the start idempotent: a retry with the same ID (a re-run CI job) gets the release it started')
    .action(
      act(
        async (
          version: string,
          o: { service?: string; strategy?: Strategy; by?: string; reason?: string; wait?: boolean; json?: boolean; requestId?: string },
        ) => {
          validateVersionShape(version); // the most telling mistake first, even before the config is read
          const cfg = session.config();
          const ask: ReleaseAsk = {
            service: o.service ?? onlyService(cfg),
            version,
            requestedBy: requester(o.by, env),
            source: 'cli',
            ...(o.strategy ? { strategy: o.strategy } : {}),
            ...(o.reason ? { reason: o.reason } : {}),
          };
          const { plan } = resolveRelease(cfg, ask); // every input check, before connecting
          const rel = await session.releases();
          return started(rel, await rel.release(ask, o.requestId ? { requestId: o.requestId } : undefined), plan, ask.service, o);
        },
      ),
    );

  program
    .command('train')
    .description("release several services in the train's order (config trains:), each its own release; a failure stops the rest")
    .argument('<train>', 'the train, as named in the config')
    .argument('<versions...>', 'a version for each of its services, as service=version (e.g. api=v2.1.0 web=v3.0.0)')
    .option('--by <name>', 'who asks (default: $QUAD_USER or $USER)')
    .option('-w, --wait', 'follow it until it is done; exit 0 when every release succeeded, 1 otherwise')
    .action(
      act(async (train: string, pairs: string[], o: { by?: string; wait?: boolean }) => {
        const versions: Record<string, string> = {};
        for (const p of pairs) {
          const m = /^([a-z0-9][a-z0-9-]{0,62})=(.+)$/.exec(p);
          if (!m) throw new InputError(`${JSON.stringify(p.slice(0, 60))} is not service=version, e.g. api=v2.1.0`);
          validateVersionShape(m[2]);
          versions[m[1]] = m[2];
        }
        const ask = { train, versions, requestedBy: requester(o.by, env), source: 'cli' as const };
        await resolveTrain(session.config(), ask); // every input check, before connecting
        const rel = await session.releases();
        const { workflowId } = await rel.train(ask);
        stdout.write(`started ${workflowId}\n`);
        if (!o.wait) return EXIT.ok;
        let last = '';
        for (;;) {
          const s = await rel.trainStatus(train).catch(() => null);
          const line = s ? trainLine(s) : '';
          if (line && line !== last) stdout.write(`${visible(line)}\n`);
          last = line || last;
          if (s && s.status !== 'running') return s.status === 'succeeded' ? EXIT.ok : EXIT.failed;
          await sleep(pollMs);
        }
      }),
    );

  program
    .command('flag-rollout')
    .description('ramp a feature flag through its configured plan (e.g. dark_mode: 10 % → 50 % → 100 %)')
    .argument('<flag>', 'the flag, as named in the config')
    .option('--by <name>', 'who asks (default: $QUAD_USER or $USER)')
    .option('--reason <text>', 'why, for the record')
    .option('-w, --wait', 'follow it until it is done')
    .option('--json', 'one JSON document on stdout')
    .action(
      act(async (flag: string, o: { by?: string; reason?: string; wait?: boolean; json?: boolean }) => {
        const cfg = session.config();
        const ask = { flag, requestedBy: requester(o.by, env), source: 'cli' as const, ...(o.reason ? { reason: o.reason } : {}) };
        const { plan } = resolveFlagRamp(cfg, ask);
        const rel = await session.releases();
        return started(rel, await rel.flagRamp(ask), plan, `flag:${flag}`, o);
      }),
    );

  program
    .command('status')
    .description('live progress of a release until it is done (stage, traffic, window, verdict, approvals)')
    .argument('[service]', 'a service, or a workflow id like flag:dark_mode (default: the only configured service)')
    .option('--once', 'print the current state once and exit')
    .option('--json', 'the current state as one JSON document (implies --once)')
    .action(
      act(async (target: string | undefined, o: { once?: boolean; json?: boolean }) => {
        const id = target ?? onlyService(session.config());
        const rel = await session.releases();
        if (o.json || o.once) {
          const s = await rel.status(id);
          if (o.json) json(stdout, s);
          else stdout.write(describeStatus(s, Date.now()).join('\n') + '\n');
          return exitFor(s.status);
        }
        return finish(rel, id, false);
      }),
    );

  for (const cmd of COMMANDS) {
    program
      .command(cmd)
      .description(COMMAND_HELP[cmd])
      .argument('<service>', 'a service, or a workflow id like flag:dark_mode')
      .option('--by <name>', 'who (checked against the approvers; default: $QUAD_USER or $USER)')
      .option('--reason <text>', 'why, for the record')
      .option('--json', 'the answer as one JSON document')
      .action(
        act(async (target: string, o: { by?: string; reason?: string; json?: boolean }) => {
          const by = requester(o.by, env);
          const rel = await session.signingReleases();
          const answer = await rel.command(target, cmd, by, o.reason);
          if (o.json) json(stdout, answer);
          else if (answer.accepted) stdout.write(`${answer.message}\n`);
          else stderr.write(`quad: ${cmd} refused: ${visible(answer.message)}\n`);
          return answer.accepted ? EXIT.ok : EXIT.refused;
        }),
      );
  }

  program
    .command('keygen')
    .description('make an Ed25519 key to sign your commands with; prints its public half for security.signers in the config')
    .requiredOption('--out <file>', 'where to write the private key (PKCS#8 PEM, mode 0600); refused if it exists')
    .option('--name <name>', 'your name as --by sends it, for the config snippet', env.QUAD_USER ?? env.USER ?? 'me')
    .action(
      act(async (o: { out: string; name: string }) => {
        if (existsSync(o.out)) throw new InputError(`${o.out} exists; keygen never overwrites a key`);
        const { privatePem, publicLine } = generateSigningKey(o.name);
        mkdirSync(dirname(o.out), { recursive: true, mode: 0o700 });
        writeFileSync(o.out, privatePem, { mode: 0o600, flag: 'wx' });
        stdout.write(`wrote ${o.out}; sign with it: export QUAD_SIGNING_KEY=${o.out}\n`);
        stdout.write(`add to the config:\nsecurity:\n  signers:\n    ${o.name}: { public_key: "${publicLine}" }\n`);
        return EXIT.ok;
      }),
    );

  program
    .command('pubkey')
    .description("print the public half of your signing key (the one quad approve signs with), for the config's security.signers")
    .option('--key <file>', 'another private key file')
    .action(
      act(async (o: { key?: string }) => {
        if (o.key) {
          stdout.write(publicKeyLine(loadPrivateKey(o.key, o.key)) + '\n');
          return EXIT.ok;
        }
        const signer = personalSigner(session.config(), env);
        if (!signer) throw new InputError('no signing key found: set QUAD_SIGNING_KEY or security.signing_key, or make one with `quad keygen`');
        stdout.write(`${signer.publicLine}\n`);
        return EXIT.ok;
      }),
    );

  program
    .command('list')
    .description('releases found through the Temporal search attributes, newest first')
    .addOption(new Option('--status <status>', 'only releases in this state').choices(STATUSES))
    .option('-s, --service <service>', 'only this service')
    .option(
      '--limit <n>',
      'at most this many',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError('a whole number from 1 to 1000');
        return n;
      },
      50,
    )
    .option('--json', 'one JSON document')
    .action(
      act(async (o: { status?: string; service?: string; limit: number; json?: boolean }) => {
        const rel = await session.releases();
        const rows = await rel.list({ ...(o.service ? { service: o.service } : {}), ...(o.status ? { status: o.status } : {}), limit: o.limit });
        if (o.json) json(stdout, rows);
        else stdout.write(listTable(rows));
        return EXIT.ok;
      }),
    );

  const config = program.command('config').description('the config file');
  config
    .command('check')
    .description('validate the config; prints every problem with its path')
    .option('-f, --file <file>', `the file (default: --config, $QUAD_CONFIG or ${DEFAULT_CONFIG_PATH})`)
    .option('--json', 'one JSON document')
    .option('--live', "also ask a worker to check each service's deployer: reach the platform, find the objects, may act")
    .action(
      act(async (o: { file?: string; json?: boolean; live?: boolean }) => {
        const file = o.file ?? session.configPath();
        try {
          const cfg = loadConfig(file);
          commandAuthOf(cfg); // every signer's public key is read and well-formed (a file that is missing says so)
          const flags = [cfg.feature_flag?.name, ...Object.keys(cfg.flags)].filter((f): f is string => Boolean(f));
          const live = o.live ? await (await session.releases()).liveCheck(Object.keys(cfg.services)) : undefined;
          const failing = (live ?? []).flatMap((r) => r.checks.filter((c) => !c.ok).map((c) => ({ service: r.service, ...c })));
          if (o.json) json(stdout, { ok: failing.length === 0, file, services: Object.keys(cfg.services), flags, problems: [], ...(live ? { live } : {}) });
          else {
            stdout.write(`${file}: ok · services ${Object.keys(cfg.services).join(', ') || 'none'} · flags ${flags.join(', ') || 'none'}\n`);
            for (const r of live ?? [])
              for (const c of r.checks) stdout.write(`  ${c.ok ? 'ok  ' : 'FAIL'} ${r.service} (${r.deployer}): ${c.name}: ${c.detail}\n`);
          }
          return failing.length ? EXIT.failed : EXIT.ok;
        } catch (err) {
          if (!(err instanceof ConfigError) || !o.json) throw err;
          json(stdout, { ok: false, file, problems: err.problems });
          return EXIT.refused;
        }
      }),
    );

  program
    .command('dashboards')
    .description('CloudWatch dashboards of the services: canary vs baseline per guarded metric, with the limits')
    .command('apply')
    .description('write a dashboard quad-<service> per service with CloudWatch metrics (PutDashboard); others are skipped, saying why')
    .option('-s, --service <service>', 'only this service')
    .option('--dry-run', 'print the dashboards as JSON, write nothing')
    .option('--canary <version>', 'the canary version the dashboard opens on')
    .option('--baseline <version>', 'the baseline version the dashboard opens on')
    .action(
      act(async (o: { service?: string; dryRun?: boolean; canary?: string; baseline?: string }) => {
        for (const v of [o.canary, o.baseline]) if (v !== undefined) validateVersionShape(v);
        const versions = { ...(o.canary ? { canary: o.canary } : {}), ...(o.baseline ? { baseline: o.baseline } : {}) };
        return applyDashboards(session.config(), { service: o.service, dryRun: o.dryRun, versions, stdout, stderr, env });
      }),
    );

  program
    .command('report')
    .description("the seed's success metrics from the releases themselves, with the targets (needs a worker: it reads each release's status)")
    .option('-s, --service <service>', 'one service (default: all)')
    .option('--since <span>', 'how far back, e.g. 30d, 12h, 2w', '30d')
    .option('--json', 'one JSON document on stdout')
    .option('--chart <file>', "write the latest deployment's timeline chart here (SVG)")
    .action(
      act(async (o: { service?: string; since: string; json?: boolean; chart?: string }) => {
        const span = parseSince(o.since);
        if (o.service) serviceConfig(session.config(), o.service); // an unknown service is exit 2, not an empty report
        const rel = await session.releases();
        if (!(rel instanceof Releases)) throw new Error('the report needs a Temporal client');
        const untilMs = Date.now();
        const records = await releaseRecords(rel, { ...(o.service ? { service: o.service } : {}), sinceMs: untilMs - span });
        const report = summarize(records, { service: o.service ?? null, sinceMs: untilMs - span, untilMs });
        let chart: string | null = null;
        if (o.chart) {
          const latest = records.filter((r) => r.status.status !== 'running' && r.status.timeline.some((e) => e.event === 'shifted')).at(-1);
          if (latest) {
            mkdirSync(dirname(o.chart), { recursive: true });
            writeFileSync(o.chart, await releaseChartSvg(latest.status));
            chart = o.chart;
          }
        }
        if (o.json) json(stdout, { ...report, ...(o.chart ? { chart } : {}) });
        else {
          stdout.write(formatReport(report).join('\n') + '\n');
          if (o.chart) stdout.write(chart ? `  chart: ${chart}\n` : '  chart: no deployment to draw\n');
        }
        return EXIT.ok;
      }),
    );

  // Scheduled releases (Temporal Schedules); everything is checked with resolveRelease before connecting.
  const schedule = program.command('schedule').description('releases that start on a cron schedule (Temporal Schedules)');
  const schedulesOf = async (): Promise<Schedules> => {
    const rel = await session.releases();
    if (!(rel instanceof Releases)) throw new Error('schedules need a Temporal client');
    return new Schedules(rel.client, rel.config, rel.taskQueue);
  };
  schedule
    .command('create')
    .description('create a schedule that releases a version, e.g. every Tuesday at 15:00: --cron "0 15 * * TUE"')
    .argument('<name>', "the schedule's name (letters, digits, _ . -)")
    .option('-s, --service <service>', 'the service (default: the only configured one)')
    .requiredOption('--version <version>', 'the version to release, e.g. v1.2.3')
    .requiredOption('--cron <expr>', 'five-field cron: minute hour day month weekday')
    .option('--tz <zone>', 'IANA time zone of the cron, e.g. America/Los_Angeles', 'UTC')
    .option('--by <name>', 'who asks (default: $QUAD_USER or $USER)')
    .option('--reason <text>', 'why, for the record')
    .option('--json', 'one JSON document on stdout')
    .action(
      act(async (name: string, o: { service?: string; version: string; cron: string; tz: string; by?: string; reason?: string; json?: boolean }) => {
        validateScheduleName(name);
        validateVersionShape(o.version);
        const cron = validateCron(o.cron);
        validateTimeZone(o.tz);
        const cfg = session.config();
        const ask: ScheduleAsk = {
          name,
          service: o.service ?? onlyService(cfg),
          version: o.version,
          cron,
          timezone: o.tz,
          requestedBy: requester(o.by, env),
          ...(o.reason ? { reason: o.reason } : {}),
        };
        resolveRelease(cfg, { service: ask.service, version: ask.version, requestedBy: ask.requestedBy, source: 'schedule' });
        const created = await (await schedulesOf()).create(ask);
        if (o.json) json(stdout, { ...created, name, service: ask.service, version: ask.version, cron, timezone: o.tz });
        else stdout.write(`scheduled ${name}: ${ask.service} ${ask.version} at "${cron}" ${o.tz}; next: ${created.nextRuns[0]?.toISOString() ?? 'never'}\n`);
        return EXIT.ok;
      }),
    );
  schedule
    .command('list')
    .description('release schedules with their next run')
    .option('--json', 'one JSON document')
    .action(
      act(async (o: { json?: boolean }) => {
        const rows = await (await schedulesOf()).list();
        if (o.json) json(stdout, rows);
        else if (rows.length === 0) stdout.write('no release schedules\n');
        else
          for (const r of rows)
            stdout.write(
              `${r.name}\t${r.service ?? '?'} ${r.version ?? '?'}\t"${r.cron ?? '?'}" ${r.timezone ?? ''}\tnext ${r.nextRuns[0]?.toISOString() ?? 'never'}${r.paused ? '\tpaused' : ''}\n`,
            );
        return EXIT.ok;
      }),
    );
  schedule
    .command('delete')
    .description('delete a release schedule (a release it already started goes on)')
    .argument('<name>', "the schedule's name")
    .action(
      act(async (name: string) => {
        validateScheduleName(name);
        await (await schedulesOf()).delete(name);
        stdout.write(`deleted schedule ${name}\n`);
        return EXIT.ok;
      }),
    );
  schedule
    .command('trigger')
    .description("start a schedule's release now (skipped if its previous one still runs)")
    .argument('<name>', "the schedule's name")
    .action(
      act(async (name: string) => {
        validateScheduleName(name);
        await (await schedulesOf()).trigger(name);
        stdout.write(`triggered schedule ${name}\n`);
        return EXIT.ok;
      }),
    );

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exit;
  } catch (err) {
    return reportError(err, stderr, env);
  } finally {
    await session.end();
  }
}

const COMMAND_HELP: Record<ReleaseCommand, string> = {
  approve: 'approve the stage that waits for a team approval',
  reject: 'reject the release: undo what was done',
  rollback: 'roll the release back now',
  pause: 'hold the current stage (it keeps being watched, it does not promote)',
  resume: 'go on after a pause',
  promote: "end the current stage's window now and move on (during the bake: end it and retire the previous version)",
  revert: 'during the bake: all traffic back to the previous version, still warm, in one call',
};

/** Expected errors in plain words, no stack; anything else too, unless QUAD_DEBUG asks for the stack. */
function reportError(err: unknown, stderr: Out, env: NodeJS.ProcessEnv): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.refused; // commander already said why
  // an error often repeats what was typed: shown so that it cannot move the cursor or read backwards
  if (err instanceof ConfigError || err instanceof InputError) {
    stderr.write(`quad: ${visible(err.message)}\n`);
    return EXIT.refused;
  }
  const e = err as Error;
  stderr.write(`quad: ${visible(e?.message ?? String(err))}\n`);
  if (env.QUAD_DEBUG && e?.stack) stderr.write(`${e.stack}\n`);
  return EXIT.failed;
}

if (require.main === module) {
  runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`quad: ${(err as Error).message}\n`);
      process.exit(EXIT.failed);
    },
  );
}
