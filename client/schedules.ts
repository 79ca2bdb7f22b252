// Scheduled releases as Temporal Schedules: "release checkout v1.2.3 every Tuesday at 15:00 LA time".
// The request is checked and planned by resolveRelease when the schedule is created (the same checks as
// the CLI and Slack), and that plan is what each firing starts. Overlap policy SKIP: a firing while
// the previous scheduled release still runs is skipped, never queued.
//
// Temporal appends the firing time to a scheduled workflow's id (release:checkout-2026-12-01T23:00:00Z),
// so `quad list` finds scheduled releases by their search attributes.
import { type Client, ScheduleAlreadyRunning, ScheduleNotFoundError } from '@temporalio/client';
import type { QuadConfig } from '../config/schema';
import { resolveRelease, validatePerson } from '../config/resolve';
import { InputError } from '../config/errors';
// Types only: the client never loads workflow code; the action's args are checked against the starter.
import type * as Workflows from '../workflows';
import type { WorkflowName } from './releases';

const SCHEDULED_RELEASE_WORKFLOW = 'scheduledReleaseWorkflow' satisfies WorkflowName;

/** Schedules of releases carry this prefix, so `list` shows ours and nothing else in the namespace. */
export const SCHEDULE_PREFIX = 'quad-release:';
const NAME = /^[A-Za-z0-9_.-]{1,80}$/;

export interface ScheduleAsk {
  name: string;
  service: string;
  version: string;
  /** standard 5-field cron, e.g. "0 15 * * TUE" */
  cron: string;
  /** IANA time zone; UTC when absent */
  timezone?: string;
  requestedBy: string;
  reason?: string;
}

export interface ScheduledRelease {
  name: string;
  scheduleId: string;
  service?: string;
  version?: string;
  cron?: string;
  timezone?: string;
  requestedBy?: string;
  paused: boolean;
  nextRuns: Date[];
  /** workflow ids of its most recent firings */
  recent: string[];
}

export function validateScheduleName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name))
    throw new InputError(`${JSON.stringify(name)} is not a schedule name: use letters, digits, _ . - (at most 80)`);
  return name;
}

export function validateTimeZone(tz: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz;
  } catch {
    throw new InputError(`${JSON.stringify(tz)} is not a time zone: write it like America/Los_Angeles or UTC`);
  }
}

/** Five fields (minute hour day-of-month month day-of-week); what Temporal takes beyond that is left to it. */
export function validateCron(cron: string): string {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5 || !fields.every((f) => /^[A-Za-z0-9*,/?-]+$/.test(f))) {
    throw new InputError(`${JSON.stringify(cron)} is not a cron expression: five fields, minute hour day month weekday, e.g. "0 15 * * TUE"`);
  }
  return fields.join(' ');
}

/** The server's INVALID_ARGUMENT (a cron field out of range, say) is the person's to fix; the SDK hands it over as a TypeError. */
function plainWords(err: unknown): never {
  if (err instanceof TypeError) throw new InputError(`Temporal refused the schedule: ${err.message}`);
  throw err;
}

export class Schedules {
  constructor(
    readonly client: Client,
    readonly config: QuadConfig,
    readonly taskQueue = config.temporal.task_queue,
  ) {}

  idOf(name: string): string {
    return SCHEDULE_PREFIX + validateScheduleName(name);
  }

  async create(ask: ScheduleAsk): Promise<{ scheduleId: string; nextRuns: Date[] }> {
    const scheduleId = this.idOf(ask.name);
    const cron = validateCron(ask.cron);
    const timezone = validateTimeZone(ask.timezone ?? 'UTC');
    validatePerson(ask.requestedBy, '--by');
    const input = resolveRelease(this.config, {
      service: ask.service,
      version: ask.version,
      requestedBy: ask.requestedBy,
      source: 'schedule',
      reason: ask.reason ?? `schedule ${ask.name} (${cron} ${timezone})`,
    });
    const { request } = input;
    try {
      const handle = await this.client.schedule.create<typeof Workflows.scheduledReleaseWorkflow>({
        scheduleId,
        spec: { cronExpressions: [cron], timezone },
        action: {
          type: 'startWorkflow',
          // Not the release itself: Temporal would append the firing time to its ID. This starter
          // starts it as `release:<service>`, so a running release of the service makes it skip.
          workflowType: SCHEDULED_RELEASE_WORKFLOW,
          workflowId: `schedule:${ask.name}`,
          taskQueue: this.taskQueue,
          args: [input],
          staticSummary: `schedule ${ask.name}: ${request.service} ${request.version} · ${request.strategy} · by ${request.requestedBy}`,
        },
        policies: { overlap: 'SKIP' },
        memo: { service: request.service, version: request.version, cron, timezone, requestedBy: request.requestedBy },
      });
      const d = await handle.describe();
      return { scheduleId, nextRuns: d.info.nextActionTimes };
    } catch (err) {
      if (err instanceof ScheduleAlreadyRunning)
        throw new InputError(`a schedule named ${ask.name} already exists; delete it first (quad schedule delete ${ask.name})`);
      plainWords(err);
    }
  }

  /** Release schedules with their next firings. Listing is eventually consistent: a new one shows within a second or so. */
  async list(): Promise<ScheduledRelease[]> {
    const out: ScheduledRelease[] = [];
    for await (const s of this.client.schedule.list()) {
      if (!s.scheduleId.startsWith(SCHEDULE_PREFIX)) continue;
      const m = (s.memo ?? {}) as Partial<Record<'service' | 'version' | 'cron' | 'timezone' | 'requestedBy', string>>;
      out.push({
        name: s.scheduleId.slice(SCHEDULE_PREFIX.length),
        scheduleId: s.scheduleId,
        service: m.service,
        version: m.version,
        cron: m.cron,
        timezone: m.timezone,
        requestedBy: m.requestedBy,
        paused: s.state.paused,
        nextRuns: s.info.nextActionTimes,
        recent: s.info.recentActions.map((a) => a.action.workflow.workflowId),
      });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async delete(name: string): Promise<void> {
    try {
      await this.client.schedule.getHandle(this.idOf(name)).delete();
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) throw new InputError(`no schedule named ${name}`);
      throw err;
    }
  }

  /** Fires a schedule now; skipped while its previous release still runs (the SDK's default here would be ALLOW_ALL). */
  async trigger(name: string): Promise<void> {
    try {
      await this.client.schedule.getHandle(this.idOf(name)).trigger('SKIP');
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) throw new InputError(`no schedule named ${name}`);
      throw err;
    }
  }
}
