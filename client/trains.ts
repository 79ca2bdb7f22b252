// Release trains from the client side: each service's release resolved from config (the same checks as a
// release of its own), who may start it checked for every service, then one train workflow `train:<name>`.
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { QuadConfig } from '../config/schema';
import { resolveRelease, validatePerson } from '../config/resolve';
import { InputError } from '../config/errors';
import { ownEntry } from '../config/lookup';
import { mayStart } from '../config/starters';
import type { Source } from '../contract/plan';
import { trainStatusQuery, type TrainInput, type TrainStatus } from '../contract/train';
import type * as Workflows from '../workflows';

export interface TrainAsk {
  train: string;
  /** service → version, for every service of the train */
  versions: Record<string, string>;
  requestedBy: string;
  source: Source;
}

export const trainIdOf = (train: string) => `train:${train}`;

/** The train's input: every service's release resolved, in the train's order, by a person allowed to start each. */
export async function resolveTrain(cfg: QuadConfig, ask: TrainAsk): Promise<TrainInput> {
  const t = ownEntry(cfg.trains, ask.train);
  if (!t) {
    const known = Object.keys(cfg.trains);
    throw new InputError(`unknown train ${JSON.stringify(ask.train.slice(0, 60))}; configured: ${known.length ? known.join(', ') : 'none'}`);
  }
  const by = validatePerson(ask.requestedBy);
  const extra = Object.keys(ask.versions).filter((s) => !t.services.includes(s));
  if (extra.length) throw new InputError(`${extra.join(', ')} ${extra.length === 1 ? 'is' : 'are'} not in train ${ask.train} (${t.services.join(' → ')})`);
  const missing = t.services.filter((s) => !ask.versions[s]);
  if (missing.length) throw new InputError(`train ${ask.train} needs a version for ${missing.join(', ')}, e.g. ${missing[0]}=v1.2.3`);
  for (const service of t.services) {
    const may = await mayStart(cfg, service, { name: by });
    if (!may.allowed) throw new InputError(`not allowed: ${may.why}`);
  }
  return {
    train: ask.train,
    requestedBy: by,
    onFailure: t.on_failure,
    steps: t.services.map((service) =>
      resolveRelease(cfg, { service, version: ask.versions[service], requestedBy: by, source: ask.source, reason: `train ${ask.train}` }),
    ),
  };
}

export async function startTrain(client: Client, cfg: QuadConfig, ask: TrainAsk, taskQueue = cfg.temporal.task_queue): Promise<{ workflowId: string }> {
  const input = await resolveTrain(cfg, ask);
  const workflowId = trainIdOf(ask.train);
  try {
    await client.workflow.start<typeof Workflows.releaseTrainWorkflow>('releaseTrainWorkflow', {
      taskQueue,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      staticSummary: `train ${ask.train}: ${input.steps.map((s) => `${s.plan.service} ${s.plan.version}`).join(' → ')} · by ${input.requestedBy}`,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new InputError(`train ${ask.train} is already running (${workflowId})`);
    throw err;
  }
  return { workflowId };
}

export async function trainStatus(client: Client, train: string): Promise<TrainStatus> {
  return client.workflow.getHandle(trainIdOf(train)).query(trainStatusQuery);
}

/** "storefront: api v2.1.0 succeeded → web v3.0.0 running" */
export function trainLine(s: TrainStatus): string {
  const steps = s.steps.map(
    (p) => `${p.service} ${p.version} ${p.status.replace('_', ' ')}${p.back ? ` (back to ${p.previousVersion}: ${p.back.replace('_', ' ')})` : ''}`,
  );
  return `train ${s.train} ${s.status.replace('_', ' ')}: ${steps.join(' → ')}${s.reason ? ` · ${s.reason}` : ''}`;
}
