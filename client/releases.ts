// Starting and steering releases through a Temporal client: the one place the CLI, the Slack app and
// webhooks go through, so each gets the same checks and the same answers.
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { QuadConfig } from '../config/schema';
import { resolveRelease, resolveFlagRamp, workflowIdFor, validatePerson, type ReleaseAsk, type FlagAsk } from '../config/resolve';
import { InputError } from '../config/errors';
import type { ReleaseInput } from '../contract/plan';
import type { DeployCheckReport } from '../contract/world';
import { commandStage } from '../contract/command-signature';
import { busyWorkflowId } from '../contract/service-busy';
import type { CommandSigner } from './signing';
import { startTrain, trainIdOf, trainStatus, type TrainAsk } from './trains';
import type { TrainStatus } from '../contract/train';
import { statusQuery, commandUpdate, type Actor, type Command, type CommandResult, type ReleaseStatus, type ReleaseResult } from '../contract/messages';
import { QuadService, QuadVersion, QuadStrategy, QuadStage, QuadStatus, QuadRequestId, startSearchAttributes } from '../contract/search-attributes';
// Types only: the client must never load workflow code, but starts and results are checked against it.
import type * as Workflows from '../workflows';

/** A workflow type as the worker registers it: the bundle's export of that name. */
export type WorkflowName = keyof typeof Workflows;
const RELEASE_WORKFLOW = 'releaseWorkflow' satisfies WorkflowName;

export interface Started {
  workflowId: string;
  runId: string;
  url: string;
  /** true when the request had already started this release (a retry): nothing new was started */
  again?: boolean;
}

/** How long a start waits for a release of the same service that has ended but not yet closed (its last notices). */
const CLOSING_WAIT_MS = 30_000;

/** How long a request's retries count as the same request (a Jira redelivery comes within hours). */
export const SAME_REQUEST_MS = 24 * 60 * 60 * 1000;

/** Makes a start idempotent: the request's own ID (e.g. `jira:<hash of the signed body>`). */
export interface StartOnce {
  requestId: string;
  /** how long after its start a release still answers for this request; default SAME_REQUEST_MS */
  withinMs?: number;
}

/** Request IDs go into a visibility query: a closed character set, so none can change the query. */
function validRequestId(id: string): string {
  if (!/^[A-Za-z0-9:._-]{1,200}$/.test(id)) throw new InputError(`${JSON.stringify(id.slice(0, 60))} is not a request ID`);
  return id;
}

/** A second release of a service that is still releasing: refused with what is running. */
export class AlreadyReleasingError extends InputError {
  constructor(
    readonly running: ReleaseStatus | null,
    workflowId: string,
  ) {
    super(
      running
        ? `${running.service} ${running.version} is already releasing (${running.stage ?? running.phase}, ${running.trafficPercent} % traffic), started by ${running.requestedBy} ${ago(running.startedAt)}; wait for it, or roll it back first`
        : `${workflowId} is already running; wait for it, or roll it back first`,
    );
    this.name = 'AlreadyReleasingError';
  }
}

/** A release or flag ramp of a service another one is at work on (deployments.when_service_busy: refuse). */
export class ServiceBusyError extends InputError {
  constructor(service: string, running: ReleaseStatus | null, workflowId: string) {
    const what = running
      ? running.strategy === 'flag-ramp'
        ? `the flag ramp ${workflowId} (${running.stage ?? running.phase}, ${running.trafficPercent} % of users), started by ${running.requestedBy} ${ago(running.startedAt)}`
        : `${running.service} ${running.version} (${running.stage ?? running.phase}, ${running.trafficPercent} % traffic), started by ${running.requestedBy} ${ago(running.startedAt)}`
      : workflowId;
    super(`${service} is busy: ${what}; wait for it, or roll it back first`);
    this.name = 'ServiceBusyError';
  }
}

function ago(at: number): string {
  const min = Math.max(0, Math.round((Date.now() - at) / 60000));
  return min < 1 ? 'just now' : min < 120 ? `${min} min ago` : `${Math.round(min / 60)} h ago`;
}

export class Releases {
  /**
   * `signer`: signs every command (client/signing.ts); without one, commands go unsigned and a release
   * whose plan requires signed commands refuses them.
   */
  constructor(
    readonly client: Client,
    readonly config: QuadConfig,
    readonly taskQueue = config.temporal.task_queue,
    readonly signer: CommandSigner | null = null,
  ) {}

  webUrl(workflowId: string, runId?: string): string {
    const base = `${this.config.temporal.web_ui_url}/namespaces/${this.client.options.namespace}/workflows/${encodeURIComponent(workflowId)}`;
    return runId ? `${base}/${runId}` : base;
  }

  /**
   * Starts a release. With `once.requestId` a start is idempotent per request: a retried request (a Jira
   * redelivery, a Slack event retry) gets the release it started, running or ended, and never starts a
   * second one. "The same request" holds for `once.withinMs` (default a day) after that release started.
   */
  async start(input: ReleaseInput, once?: StartOnce, closingWaitMs = CLOSING_WAIT_MS): Promise<Started> {
    const workflowId = workflowIdFor(input.request);
    const { request } = input;
    const requestId = once ? validRequestId(once.requestId) : undefined;
    if (requestId) {
      const earlier = await this.startedBy(requestId, once?.withinMs ?? SAME_REQUEST_MS);
      if (earlier) return earlier;
    }
    // the workflow enforces one thing at a time per service itself; this only answers at once, naming what runs
    if (input.plan.serviceLock?.onBusy === 'refuse') {
      const holder = await this.serviceHolder(input.plan.serviceLock.service);
      if (holder && holder !== workflowId) throw new ServiceBusyError(input.plan.serviceLock.service, await this.status(holder).catch(() => null), holder);
    }
    try {
      const handle = await this.client.workflow.start<typeof Workflows.releaseWorkflow>(RELEASE_WORKFLOW, {
        taskQueue: this.taskQueue,
        workflowId,
        args: [input],
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        staticSummary: `${request.service} ${request.version} · ${request.strategy} · by ${request.requestedBy}`,
        staticDetails: input.plan.stages
          .map((s) => `${s.name}${s.durationMs ? ` for ${Math.round(s.durationMs / 60000)} min` : ''}${s.approval ? ' (team approval)' : ''}`)
          .join(' → '),
        typedSearchAttributes: [...startSearchAttributes(request), ...(requestId ? [{ key: QuadRequestId, value: requestId }] : [])],
      });
      return { workflowId, runId: handle.firstExecutionRunId, url: this.webUrl(workflowId, handle.firstExecutionRunId) };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      // two deliveries of one request racing: the one that lost gets the release the other started
      if (requestId) {
        const running = await this.client.workflow
          .getHandle(workflowId)
          .describe()
          .catch(() => null);
        if (running && running.typedSearchAttributes.get(QuadRequestId) === requestId) return this.startedOf(workflowId, running.runId);
      }
      const running = await this.status(workflowId).catch(() => null);
      // one that has ended and is only sending its last notices is waited for, then this one starts
      if (running && running.status !== 'running' && closingWaitMs > 0) {
        const closed = await Promise.race([
          this.client.workflow
            .getHandle(workflowId)
            .result()
            .then(
              () => true,
              () => true,
            ),
          new Promise<false>((r) => setTimeout(() => r(false), closingWaitMs).unref()),
        ]);
        if (closed) return this.start(input, once, 0);
      }
      throw new AlreadyReleasingError(running, workflowId);
    }
  }

  /** Starts a release train (client/trains.ts): every service's release resolved and allowed first. */
  train(ask: TrainAsk): Promise<{ workflowId: string }> {
    return startTrain(this.client, this.config, ask, this.taskQueue);
  }

  trainStatus(train: string): Promise<TrainStatus> {
    return trainStatus(this.client, train);
  }

  async trainResult(train: string): Promise<TrainStatus> {
    return this.client.workflow.getHandle(trainIdOf(train)).result() as Promise<TrainStatus>;
  }

  private startedOf(workflowId: string, runId: string): Started {
    return { workflowId, runId, url: this.webUrl(workflowId, runId), again: true };
  }

  /** The workflow (a release or a flag ramp) that holds `service` now, if any: the parent of its busy:<service>. */
  async serviceHolder(service: string): Promise<string | null> {
    try {
      const d = await this.client.workflow.getHandle(busyWorkflowId(service)).describe();
      if (d.status.name !== 'RUNNING') return null;
      return d.raw.workflowExecutionInfo?.parentExecution?.workflowId ?? null;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  }

  /** The release a request already started within `withinMs`, found by its QuadRequestId. */
  private async startedBy(requestId: string, withinMs: number): Promise<Started | null> {
    const since = new Date(Date.now() - withinMs).toISOString();
    const query = `QuadRequestId = "${requestId}" AND StartTime > "${since}"`;
    try {
      for await (const wf of this.client.workflow.list({ query })) return this.startedOf(wf.workflowId, wf.runId);
    } catch (err) {
      // an operator's step, not the requester's mistake: say which one
      if (/QuadRequestId/.test(String((err as Error)?.message)))
        throw new Error('the search attribute QuadRequestId is not registered: temporal operator search-attribute create --name QuadRequestId --type Keyword', {
          cause: err,
        });
      throw err;
    }
    return null;
  }

  release(ask: ReleaseAsk, once?: StartOnce): Promise<Started> {
    return this.start(resolveRelease(this.config, ask), once);
  }

  flagRamp(ask: FlagAsk, once?: StartOnce): Promise<Started> {
    return this.start(resolveFlagRamp(this.config, ask), once);
  }

  /** `checkout` → `release:checkout`; `flag:dark_mode` stays as it is */
  idFor(serviceOrId: string): string {
    return serviceOrId.includes(':') ? serviceOrId : `release:${serviceOrId}`;
  }

  /** Releases and flag ramps both run releaseWorkflow. */
  private handle(serviceOrId: string) {
    return this.client.workflow.getHandle<typeof Workflows.releaseWorkflow>(this.idFor(serviceOrId));
  }

  async status(serviceOrId: string): Promise<ReleaseStatus> {
    try {
      return await this.handle(serviceOrId).query(statusQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new InputError(`no release of ${serviceOrId} found`);
      throw err;
    }
  }

  async result(serviceOrId: string): Promise<ReleaseResult> {
    return this.handle(serviceOrId).result();
  }

  /**
   * Sends a command as an update, so the caller learns at once whether the workflow accepted it. It is
   * aimed at the run and the gate or stage the release shows now (or `shownStage`, what a person was
   * shown, e.g. on a Slack button), and signed for them when this client has a signer.
   * `via`: the `group:` approver entry the Slack app found `by` a member of (see Actor.via)
   */
  async command(serviceOrId: string, cmd: Command, by: string, reason?: string, via?: string, shownStage?: string): Promise<CommandResult> {
    validatePerson(by, '--by');
    const handle = this.handle(serviceOrId);
    try {
      const actor = { by, ...(reason ? { reason: reason.slice(0, 500) } : {}), ...(via ? { via } : {}) };
      // the run and the stage come from the release itself, so a signature cannot be aimed at a later gate
      const [status, described] = await Promise.all([handle.query(statusQuery), this.signer ? handle.describe() : null]);
      if (cmd === 'revert' && status.status !== 'running') throw new InputError(tooLateToRevert(status));
      const stage = shownStage ?? commandStage(status);
      const sent: Actor = this.signer ? this.signer.sign(cmd, actor, { workflowId: handle.workflowId, runId: described!.runId, stage }) : { ...actor, stage };
      return await handle.executeUpdate(commandUpdate, { args: [cmd, sent] });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new InputError(`no running release of ${serviceOrId}`);
      throw err;
    }
  }

  /**
   * The deployers' live checks, run by a worker on this task queue (where the credentials are): one short
   * workflow, so the CLI itself never holds a deploy credential.
   */
  async liveCheck(services: string[]): Promise<DeployCheckReport[]> {
    return this.client.workflow.execute<typeof Workflows.liveCheckWorkflow>('liveCheckWorkflow', {
      taskQueue: this.taskQueue,
      workflowId: `quad-check:${Date.now().toString(36)}:${Math.random().toString(36).slice(2, 8)}`,
      args: [services],
      workflowExecutionTimeout: '3m',
    });
  }

  /** Releases found through the search attributes, newest first. */
  async list(filter: { service?: string; status?: string; limit?: number } = {}) {
    const q: string[] = [];
    const safe = (s: string) => {
      if (!/^[A-Za-z0-9_.:-]{1,100}$/.test(s)) throw new InputError(`${JSON.stringify(s)} is not a valid filter value`);
      return s;
    };
    if (filter.service) q.push(`QuadService = "${safe(filter.service)}"`);
    if (filter.status) q.push(`QuadStatus = "${safe(filter.status)}"`);
    if (q.length === 0) q.push('QuadService IS NOT NULL');
    const out: {
      workflowId: string;
      runId: string;
      service?: string;
      version?: string;
      strategy?: string;
      stage?: string;
      status?: string;
      startTime: Date;
      url: string;
    }[] = [];
    for await (const wf of this.client.workflow.list({ query: q.join(' AND ') })) {
      const sa = wf.typedSearchAttributes;
      out.push({
        workflowId: wf.workflowId,
        runId: wf.runId,
        startTime: wf.startTime,
        url: this.webUrl(wf.workflowId, wf.runId),
        service: sa.get(QuadService),
        version: sa.get(QuadVersion),
        strategy: sa.get(QuadStrategy),
        stage: sa.get(QuadStage),
        status: sa.get(QuadStatus),
      });
      if (out.length >= (filter.limit ?? 50)) break;
    }
    return out;
  }
}

/** A revert asked of a release that has ended: say why it is no longer one call, and what goes back instead. */
export function tooLateToRevert(s: ReleaseStatus): string {
  const prev = s.previousVersion;
  const baked = s.timeline.find((t) => t.event === 'baked' || t.event === 'bake ended by hand');
  const when = baked ? ` when its bake ended at ${new Date(baked.at).toISOString()}` : '';
  if (s.status !== 'succeeded' || !prev) return `nothing to revert: ${s.service} ${s.version} ${s.status.replace('_', ' ')}`;
  return `${s.service} ${s.version} has succeeded and ${prev} was retired${when}, so a revert is no longer one switch; to go back, release it again: quad release ${prev} --service ${s.service}`;
}
