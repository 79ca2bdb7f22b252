// A Lambda alias as a deployer: the alias's FunctionVersion is the previous (primary) version and its
// RoutingConfig.AdditionalVersionWeights sends p/100 of invocations to the new published version.
// The release's version → a published Lambda version: by default the newest published version whose
// Description is the release's version (`aws lambda publish-version --description v1.2.3`); with
// versionFrom 'number' the release's version is the Lambda version number itself.
// Every write reads the alias first and is sent only when it differs (so a call repeated after a crash
// changes nothing), with the alias's RevisionId so a concurrent change is read again, not overwritten.
// Credentials and region come from the SDK's default chain (the region defaults to the function ARN's);
// nothing here reads, logs or returns them. Failures are classified by ./alb's awsFailure.
import { ApplicationFailure } from '@temporalio/activity';
import {
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  ListVersionsByFunctionCommand,
  UpdateAliasCommand,
  type FunctionConfiguration,
} from '@aws-sdk/client-lambda';
import type { DeployCheck, DeployerLifecycle, TrafficState, TrafficTarget } from '../types';
import { FailureType, configurationError, nonRetryableFailure } from '../../failures';
import { arnRegion, awsFailure, deployNotReady, pause } from './alb';

export interface LambdaDeployerOptions {
  /** the service this function belongs to (messages, the default config path) */
  service: string;
  /** default: the function ARN's region, else the SDK's chain */
  region?: string;
  /** a custom endpoint (moto, a VPC endpoint) */
  endpoint?: string;
  /** the function's name or unqualified ARN */
  functionName: string;
  /** the alias callers invoke, e.g. "live" */
  alias: string;
  /** how a release's version names a published Lambda version: its Description (default) or its number */
  versionFrom?: 'description' | 'number';
  /** how long prepare waits for the version to become Active (default 300 s) */
  readyTimeoutSeconds?: number;
  /** how often the version's state is polled while waiting (default 2 s) */
  pollMs?: number;
  /** SDK attempts per call (the activity retries too); default 3 */
  maxAttempts?: number;
  /** where these options live in the config, for messages (default services.<service>.deployer) */
  configPath?: string;
}

const SYSTEM = 'Lambda';
const CONFLICT_ATTEMPTS = 4;

interface AliasState {
  primary: string;
  weights: Record<string, number>;
  revisionId?: string;
}

const sameWeights = (a: Record<string, number>, b: Record<string, number>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] !== undefined && Math.abs(b[k] - v) < 1e-9);
const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

export class LambdaDeployer implements DeployerLifecycle {
  readonly name = 'lambda';
  private readonly at: string;
  private readonly client: LambdaClient;
  private readonly readyMs: number;
  private readonly pollMs: number;
  /** published versions are immutable: a version number's description never changes */
  private readonly descriptions = new Map<string, string>();

  constructor(private readonly opts: LambdaDeployerOptions) {
    this.at = opts.configPath ?? `services.${opts.service}.deployer`;
    if (!opts.functionName) throw configurationError(`${SYSTEM}: ${this.at}.function_name is missing`);
    // a name, or an unqualified ARN: a version or alias in it would pin every call to that one
    if (!/^([A-Za-z0-9_-]{1,64}|arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64})$/.test(opts.functionName)) {
      throw configurationError(
        `${SYSTEM}: ${this.at}.function_name must be the function's name or unqualified ARN (no version or alias), got ${JSON.stringify(opts.functionName)}`,
      );
    }
    if (!opts.alias || /^\d+$/.test(opts.alias) || opts.alias === '$LATEST') {
      throw configurationError(`${SYSTEM}: ${this.at}.alias must be an alias name (not a version), got ${JSON.stringify(opts.alias)}`);
    }
    this.client = new LambdaClient({ region: opts.region ?? arnRegion(opts.functionName), endpoint: opts.endpoint, maxAttempts: opts.maxAttempts ?? 3 });
    this.readyMs = (opts.readyTimeoutSeconds ?? 300) * 1000;
    this.pollMs = opts.pollMs ?? 2000;
  }

  /** Closes the client's pooled connections. */
  close(): void {
    this.client.destroy();
  }

  async prepare(target: TrafficTarget): Promise<{ detail: string }> {
    const n = await this.lambdaVersion(target.version);
    const alias = await this.readAlias();
    const deadline = Date.now() + this.readyMs;
    for (;;) {
      const c = await this.configuration(n);
      const state = `${c.State ?? '?'} / last update ${c.LastUpdateStatus ?? '?'}`;
      if (c.State === 'Active' && (c.LastUpdateStatus ?? 'Successful') === 'Successful') {
        return { detail: `${this.fn()} version ${n} (${target.version}) is Active; alias ${this.opts.alias} on version ${alias.primary}` };
      }
      const failed =
        c.State === 'Failed' || c.LastUpdateStatus === 'Failed'
          ? `it failed: ${[c.StateReasonCode ?? c.LastUpdateStatusReasonCode, c.StateReason ?? c.LastUpdateStatusReason].filter(Boolean).join(': ') || state}`
          : c.State === 'Inactive'
            ? `it is Inactive (idle too long): invoke it once so Lambda reactivates it, then retry`
            : undefined;
      if (failed || Date.now() >= deadline) {
        const why = failed ?? `still ${state} after ${this.readyMs / 1000} s (${this.at}.ready_timeout_seconds)`;
        throw deployNotReady(`${SYSTEM}: prepare of ${this.opts.service} ${target.version}: ${this.fn()} version ${n}: ${why}`, {
          system: SYSTEM,
          version: target.version,
          lambdaVersion: n,
          state: c.State,
          reason: failed ? 'Failed' : 'Timeout',
        });
      }
      await pause(this.pollMs, { step: 'prepare', version: target.version, lambdaVersion: n, state });
    }
  }

  async shift(target: TrafficTarget, percent: number): Promise<TrafficState> {
    if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
      throw nonRetryableFailure(FailureType.Rejected, `${SYSTEM}: percent must be 0..100, got ${percent}`, { system: SYSTEM });
    }
    const n = await this.lambdaVersion(target.version);
    if (percent === 100) {
      await this.writeAlias(n, {});
    } else {
      const p = await this.previous(target, n, 'shift');
      await this.writeAlias(p, percent === 0 ? {} : { [n]: percent / 100 });
    }
    const now = await this.currentTraffic(target);
    return { percent: now?.percent ?? percent, version: target.version, previousVersion: target.previousVersion };
  }

  async promote(target: TrafficTarget): Promise<TrafficState> {
    await this.writeAlias(await this.lambdaVersion(target.version), {});
    return { percent: 100, version: target.version, previousVersion: target.previousVersion };
  }

  async retire(_target: TrafficTarget): Promise<{ detail: string }> {
    return {
      detail:
        'nothing to release: a published Lambda version holds no capacity of its own while no alias routes to it ' +
        '(provisioned concurrency, if configured on a version, is not managed here), and deleting it would take away the revert',
    };
  }

  async revert(target: TrafficTarget): Promise<TrafficState> {
    const n = await this.lambdaVersion(target.version);
    await this.writeAlias(await this.previous(target, n, 'revert'), {});
    return { percent: 0, version: target.version, previousVersion: target.previousVersion };
  }

  async currentTraffic(target: TrafficTarget): Promise<TrafficState | null> {
    const alias = await this.readAlias();
    const extra = Object.values(alias.weights).reduce((a, b) => a + b, 0);
    const primaryVersion = await this.releaseVersion(alias.primary);
    let share = primaryVersion === target.version ? 1 - extra : 0;
    for (const [n, w] of Object.entries(alias.weights)) if ((await this.releaseVersion(n)) === target.version) share += w;
    return {
      percent: round4(share * 100),
      version: target.version,
      previousVersion: primaryVersion === target.version ? target.previousVersion : (primaryVersion ?? alias.primary),
    };
  }

  async check(service: string): Promise<DeployCheck[]> {
    const out: DeployCheck[] = [];
    const region = await this.client.config.region().catch(() => '(no region)');
    try {
      const f = await this.call(`GetFunction ${this.opts.functionName}`, 'lambda:GetFunction', () =>
        this.client.send(new GetFunctionCommand({ FunctionName: this.opts.functionName })),
      );
      out.push({
        name: `reach Lambda in ${region} and find ${this.fn()}`,
        ok: true,
        detail: `${f.Configuration?.Runtime ?? f.Configuration?.PackageType ?? ''} function, state ${f.Configuration?.State ?? '?'}`,
      });
    } catch (err) {
      return [{ name: `reach Lambda in ${region} and find ${this.fn()}`, ok: false, detail: (err as Error).message }];
    }
    try {
      const a = await this.readAlias();
      const weights = Object.entries(a.weights).map(([n, w]) => `, ${round4(w * 100)} % on version ${n}`);
      out.push({ name: `alias ${this.opts.alias} exists on a published version`, ok: true, detail: `version ${a.primary}${weights.join('')}` });
    } catch (err) {
      out.push({ name: `alias ${this.opts.alias} exists on a published version`, ok: false, detail: (err as Error).message });
    }
    out.push({
      name: `may update alias ${this.opts.alias} (not verified)`,
      ok: true,
      detail:
        `not checked: Lambda has no dry run, and a no-op write could undo a running release's change; ${service} needs ` +
        `lambda:UpdateAlias, lambda:GetAlias, lambda:GetFunctionConfiguration and lambda:ListVersionsByFunction on ${this.opts.functionName}; ` +
        'a missing one fails the first call as a ConfigurationError naming it',
    });
    return out;
  }

  // --- versions ---

  private fn(): string {
    return `function ${this.opts.functionName}`;
  }

  /** The published version number carrying the release's version; none is a DeployNotReady (there is nothing to route to). */
  private async lambdaVersion(version: string): Promise<string> {
    if (this.opts.versionFrom === 'number') {
      if (!/^\d+$/.test(version)) {
        throw nonRetryableFailure(
          FailureType.Rejected,
          `${SYSTEM}: version ${JSON.stringify(version)} is not a Lambda version number (${this.at}.version_from is number)`,
          {
            system: SYSTEM,
          },
        );
      }
      await this.configuration(version);
      return version;
    }
    const matching = (await this.publishedVersions()).filter((c) => c.Description === version).map((c) => c.Version!);
    if (matching.length === 0) {
      throw deployNotReady(
        `${SYSTEM}: no published version of ${this.opts.functionName} has the description ${JSON.stringify(version)}: publish one ` +
          `(aws lambda publish-version --function-name ${this.opts.functionName} --description ${version}); ` +
          'when neither code nor configuration changed, Lambda returns the existing version with its old description',
        { system: SYSTEM, version, reason: 'NoPublishedVersion' },
      );
    }
    return matching.sort((a, b) => Number(b) - Number(a))[0];
  }

  /** The release version a Lambda version number carries (its description, or the number itself); null when it has none. */
  private async releaseVersion(n: string): Promise<string | null> {
    if (this.opts.versionFrom === 'number') return n;
    if (!this.descriptions.has(n)) this.descriptions.set(n, (await this.configuration(n)).Description ?? '');
    return this.descriptions.get(n) || null;
  }

  /** Every published version (not $LATEST), following the pages. */
  private async publishedVersions(): Promise<FunctionConfiguration[]> {
    const out: FunctionConfiguration[] = [];
    let marker: string | undefined;
    do {
      const page = await this.call(
        `ListVersionsByFunction ${this.opts.functionName}`,
        `lambda:ListVersionsByFunction on ${this.opts.functionName}`,
        () => this.client.send(new ListVersionsByFunctionCommand({ FunctionName: this.opts.functionName, Marker: marker, MaxItems: 50 })),
        { named: this.fn(), setting: `${this.at}.function_name` },
      );
      for (const c of page.Versions ?? []) {
        if (!c.Version || c.Version === '$LATEST') continue;
        out.push(c);
        this.descriptions.set(c.Version, c.Description ?? '');
      }
      marker = page.NextMarker;
    } while (marker);
    return out;
  }

  private configuration(n: string): Promise<FunctionConfiguration> {
    return this.call(
      `GetFunctionConfiguration ${this.opts.functionName}:${n}`,
      `lambda:GetFunctionConfiguration on ${this.opts.functionName}`,
      () => this.client.send(new GetFunctionConfigurationCommand({ FunctionName: this.opts.functionName, Qualifier: n })),
      { named: `version ${n} of ${this.fn()}`, setting: `${this.at}.function_name` },
    );
  }

  /** The Lambda version the alias goes back to: the previous release's, else the alias's primary before this release. */
  private async previous(target: TrafficTarget, n: string, step: string): Promise<string> {
    if (target.previousVersion !== null) {
      try {
        return await this.lambdaVersion(target.previousVersion);
      } catch (err) {
        if (err instanceof ApplicationFailure) {
          throw nonRetryableFailure(FailureType.NotFound, `${SYSTEM}: cannot ${step} to the previous version: ${err.message}`, { system: SYSTEM });
        }
        throw err;
      }
    }
    const alias = await this.readAlias();
    if (alias.primary !== n) return alias.primary;
    throw nonRetryableFailure(
      FailureType.Rejected,
      `${SYSTEM}: cannot ${step} ${this.opts.service} ${target.version}: it has no previous version and alias ${this.opts.alias} already points at its version ${n}`,
      { system: SYSTEM },
    );
  }

  // --- the alias ---

  private async readAlias(): Promise<AliasState> {
    const a = await this.call(
      `GetAlias ${this.opts.functionName}:${this.opts.alias}`,
      `lambda:GetAlias on ${this.opts.functionName}`,
      () => this.client.send(new GetAliasCommand({ FunctionName: this.opts.functionName, Name: this.opts.alias })),
      { named: `alias ${this.opts.alias} of ${this.fn()}`, setting: `${this.at}.alias` },
    );
    if (!a.FunctionVersion || a.FunctionVersion === '$LATEST') {
      throw configurationError(
        `${SYSTEM}: alias ${this.opts.alias} of ${this.fn()} points at ${a.FunctionVersion ?? 'nothing'}: a weighted alias needs a published version; point it at the serving version (aws lambda update-alias --function-version N)`,
        { system: SYSTEM },
      );
    }
    return { primary: a.FunctionVersion, weights: { ...(a.RoutingConfig?.AdditionalVersionWeights ?? {}) }, revisionId: a.RevisionId };
  }

  /** Points the alias at `primary` with these extra weights; sent only when it differs, read again if it changed meanwhile. */
  private async writeAlias(primary: string, weights: Record<string, number>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.readAlias();
      if (current.primary === primary && sameWeights(current.weights, weights)) return;
      try {
        await this.call(
          `UpdateAlias ${this.opts.functionName}:${this.opts.alias}`,
          `lambda:UpdateAlias on ${this.opts.functionName}`,
          () =>
            this.client.send(
              new UpdateAliasCommand({
                FunctionName: this.opts.functionName,
                Name: this.opts.alias,
                FunctionVersion: primary,
                // an empty map clears the routing; leaving it out would keep the old weights
                RoutingConfig: { AdditionalVersionWeights: weights },
                RevisionId: current.revisionId,
              }),
            ),
          { named: `alias ${this.opts.alias} of ${this.fn()}`, setting: `${this.at}.alias` },
        );
        return;
      } catch (err) {
        // the alias changed between our read and our write: read it again
        if (attempt < CONFLICT_ATTEMPTS && ((err as ApplicationFailure).details?.[0] as { code?: string } | undefined)?.code === 'PreconditionFailedException')
          continue;
        throw err;
      }
    }
  }

  private async call<T>(what: string, permission: string, fn: () => Promise<T>, opts: { named?: string; setting?: string } = {}): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw awsFailure(err, { system: SYSTEM, what, permission, ...opts });
    }
  }
}
