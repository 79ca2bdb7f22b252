// What a signed-in person may do from the dashboard, checked as the Slack app checks it: a command needs
// one of the service's approvers (the release managers when it lists none; nobody when neither is set),
// a release needs a starter (config/starters.ts). The person is known by name (the one the sign-in gave),
// so `group:` entries, which only Slack can answer, admit nobody here. The workflow checks again, and the
// dashboard's own front-end key signs each command for the person it signed in.
import type { QuadConfig } from '../../config/schema';
import { InputError } from '../../config/errors';
import { mayStart, type StartPermission } from '../../config/starters';
import type { Releases } from '../releases';
import type { Command, CommandResult } from '../../contract/messages';
import { maySteer } from '../slack/approvers';
import type { Strategy } from '../../contract/plan';

/** The buttons the dashboard shows, and the command each sends. */
export const DASHBOARD_COMMANDS = ['approve', 'reject', 'rollback', 'pause', 'resume', 'promote'] as const satisfies readonly Command[];
export type DashboardCommand = (typeof DASHBOARD_COMMANDS)[number];

/** The strategies the Release form offers (a flag ramp starts from the CLI). */
export const RELEASE_STRATEGIES = ['canary', 'blue-green', 'ab'] as const satisfies readonly Strategy[];

/** What the dashboard needs of Releases (the class itself in production; the same calls the CLI makes). */
export type ReleaseSource = Pick<Releases, 'config' | 'list' | 'status' | 'command' | 'release' | 'idFor'>;

export type Outcome = { ok: true; message: string; workflowId?: string } | { ok: false; refused: boolean; message: string };

/** May `person` steer `releaseId`? The same rule as Slack's mayCommand, for a person known by name. */
export function mayCommandAs(cfg: QuadConfig, releaseId: string, person: string): Promise<StartPermission> {
  return maySteer(cfg, releaseId, { name: person }, { door: 'this dashboard' });
}

export async function runCommand(src: ReleaseSource, releaseId: string, cmd: DashboardCommand, person: string, shownStage: string): Promise<Outcome> {
  const may = await mayCommandAs(src.config, releaseId, person);
  if (!may.allowed) return { ok: false, refused: true, message: `Not allowed: ${may.why}.` };
  try {
    // approve and reject are for the gate the page showed; rollback, pause and the rest act whatever the stage
    const shown = cmd === 'approve' || cmd === 'reject' ? shownStage : undefined;
    const r: CommandResult = await src.command(releaseId, cmd, person, 'from the dashboard', undefined, shown);
    return r.accepted ? { ok: true, message: r.message } : { ok: false, refused: false, message: `Not done: ${r.message}` };
  } catch (err) {
    if (err instanceof InputError) return { ok: false, refused: false, message: `Not done: ${err.message}` };
    throw err;
  }
}

export async function startRelease(src: ReleaseSource, person: string, form: { service: string; version: string; strategy?: string }): Promise<Outcome> {
  if (form.strategy !== undefined && !(RELEASE_STRATEGIES as readonly string[]).includes(form.strategy))
    return { ok: false, refused: false, message: `Not started: ${JSON.stringify(form.strategy.slice(0, 40))} is not a strategy` };
  try {
    // an unknown service is named as such before the permission answer
    if (!Object.hasOwn(src.config.services, form.service)) throw new InputError(`${JSON.stringify(form.service.slice(0, 60))} is not a configured service`);
    const may = await mayStart(src.config, form.service, { name: person });
    if (!may.allowed) return { ok: false, refused: true, message: `Not allowed: ${may.why}.` };
    const started = await src.release({
      service: form.service,
      version: form.version,
      ...(form.strategy ? { strategy: form.strategy as Strategy } : {}),
      requestedBy: person,
      source: 'api',
      reason: 'from the dashboard',
    });
    return { ok: true, message: `Started ${form.service} ${form.version}.`, workflowId: started.workflowId };
  } catch (err) {
    if (err instanceof InputError) return { ok: false, refused: false, message: `Not started: ${err.message}` };
    throw err;
  }
}
