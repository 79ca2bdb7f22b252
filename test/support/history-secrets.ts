// The secrets scan: every workflow history on a test server, payloads decoded to text, searched for the
// secret values the suite configured (env vars named like tokens, keys, secrets, passwords) and for
// anything shaped like a token (Slack, GitHub, AWS, Unleash, LaunchDarkly, bearer, JWT, a private key).
// temporal-env runs it on every dev server before tearing it down (the time-skipping server cannot list), so a secret that reaches a workflow's
// input, result, search attributes or history fails the test file that put it there.
import type { Client } from '@temporalio/client';
import { secretEnvValues } from '../../activities/failures';

export const TOKEN_SHAPES: ReadonlyArray<readonly [string, RegExp]> = [
  ['Slack token', /\bxox[abposr]-[A-Za-z0-9-]{10,}/g],
  ['GitHub token', /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g],
  ['AWS access key id', /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g],
  ['Unleash API token', /\b[\w*-]+:[\w-]+\.[a-f0-9]{32,}\b/g],
  ['LaunchDarkly key', /\b(?:api|sdk|mob)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g],
  ['bearer token', /\bBearer\s+[A-Za-z0-9._~+/-]{16,}/g],
  ['JWT', /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g],
  ['private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/g],
];

export interface SecretHit {
  workflowId: string;
  runId: string;
  what: string;
  /** the match, cut to its first 6 characters: a report must not print the secret it found */
  sample: string;
}

/**
 * Every history on the server (listed through visibility), or the runs named, payloads decoded from base64
 * to text. The time-skipping test server has no visibility: name its runs.
 */
export async function decodedHistories(
  client: Client,
  runs?: Array<{ workflowId: string; runId: string }>,
): Promise<Array<{ workflowId: string; runId: string; text: string }>> {
  const listed: Array<{ workflowId: string; runId: string }> = runs ?? [];
  if (!runs) for await (const wf of client.workflow.list()) listed.push({ workflowId: wf.workflowId, runId: wf.runId });
  const out: Array<{ workflowId: string; runId: string; text: string }> = [];
  for (const { workflowId, runId } of listed) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const text = JSON.stringify(history, (k, v: unknown) => (k === 'data' && typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : v));
    out.push({ workflowId, runId, text });
  }
  return out;
}

export function findSecrets(h: { workflowId: string; runId: string; text: string }, values: readonly string[]): SecretHit[] {
  const hits: SecretHit[] = [];
  for (const v of values)
    if (h.text.includes(v)) hits.push({ workflowId: h.workflowId, runId: h.runId, what: 'a configured secret value', sample: v.slice(0, 6) });
  for (const [what, re] of TOKEN_SHAPES)
    for (const m of h.text.matchAll(re)) hits.push({ workflowId: h.workflowId, runId: h.runId, what, sample: m[0].slice(0, 6) });
  return hits;
}

/** Scans the server's histories; returns the hits and how many histories were read. */
export async function scanServer(client: Client, extraValues: readonly string[] = []): Promise<{ histories: number; hits: SecretHit[] }> {
  const values = [...new Set([...secretEnvValues(), ...extraValues])];
  const histories = await decodedHistories(client);
  return { histories: histories.length, hits: histories.flatMap((h) => findSecrets(h, values)) };
}

/** For teardown: throws, naming each workflow and what it holds, when a history holds a secret. */
export async function assertNoSecretsInHistories(client: Client): Promise<void> {
  const { hits } = await scanServer(client);
  if (hits.length > 0) {
    throw new Error(
      `secrets scan: ${hits.length} secret-shaped value(s) in workflow histories:\n${hits.map((h) => `  ${h.workflowId} (${h.runId}): ${h.what} ${h.sample}…`).join('\n')}`,
    );
  }
}
