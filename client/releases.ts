// Starting and steering releases through a Temporal client: the one place the CLI, the Slack app and
// webhooks go through, so each gets the same checks and the same answers.
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { QuadConfig } from '../config/schema';
import { resolveRelease, resolveFlagRamp, workflowIdFor, validatePerson, type ReleaseAsk, type FlagAsk } from '../config/resolve';
import { InputError } from '../config/errors';
import type { ReleaseInput } from '../contract/plan';
import type { DeployCheckReport } from '../contract/world';
import { statusQuery, commandUpdate, type Command, type CommandResult, type ReleaseStatus, type ReleaseResult } from '../contract/messages';
import { QuadService, QuadVersion, QuadStrategy, QuadStage, QuadStatus, startSearchAttributes } from '../contract/search-attributes';
// Types only: the client must never load workflow code, but starts and results are checked against it.
import type * as Workflows from '../workflows';

/** A workflow type as the worker registers it: the bundle's export of that name. */
export type WorkflowName = keyof typeof Workflows;
const RELEASE_WORKFLOW = 'releaseWorkflow' satisfies WorkflowName;

export interface Started {
  workflowId: string;
  runId: string;
  url: string;
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

function ago(at: number): string {
  const min = Math.max(0, Math.round((Date.now() - at) / 60000));
  return min < 1 ? 'just now' : min < 120 ? `${min} min ago` : `${Math.round(min / 60)} h ago`;
}

export class Releases {
  constructor(
    readonly client: Client,
    readonly config: QuadConfig,
    readonly taskQueue = config.temporal.task_queue,
  ) {}

  webUrl(workflowId: string, runId?: string): string {
    const base = `${this.config.temporal.web_ui_url}/namespaces/${this.client.options.namespace}/workflows/${encodeURIComponent(workflowId)}`;
    return runId ? `${base}/${runId}` : base;
  }

  async start(input: ReleaseInput): Promise<Started> {
    const workflowId = workflowIdFor(input.request);
    const { request } = input;
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
        typedSearchAttributes: startSearchAttributes(request),
      });
      return { workflowId, runId: handle.firstExecutionRunId, url: this.webUrl(workflowId, handle.firstExecutionRunId) };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new AlreadyReleasingError(await this.status(workflowId).catch(() => null), workflowId);
      throw err;
    }
  }

  release(ask: ReleaseAsk): Promise<Started> {
    return this.start(resolveRelease(this.config, ask));
  }

  flagRamp(ask: FlagAsk): Promise<Started> {
    return this.start(resolveFlagRamp(this.config, ask));
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

  /** Sends a command as an update, so the caller learns at once whether the workflow accepted it. */
  /** `via`: the `group:` approver entry the Slack app found `by` a member of (see Actor.via) */
  async command(serviceOrId: string, cmd: Command, by: string, reason?: string, via?: string): Promise<CommandResult> {
    validatePerson(by, '--by');
    const handle = this.handle(serviceOrId);
    try {
      return await handle.executeUpdate(commandUpdate, { args: [cmd, { by, ...(reason ? { reason: reason.slice(0, 500) } : {}), ...(via ? { via } : {}) }] });
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
