// Keys for the tests' people and front ends, and signed commands made with them on the workflow's own
// clock (a time-skipping server runs ahead of the wall clock, and a signature is judged against workflow time).
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { CommandSigner, publicKeyBase64 } from '../../client/signing';
import { commandStage } from '../../contract/command-signature';
import { SIGNALS, commandUpdate, statusQuery, type Actor, type Command, type CommandResult } from '../../contract/messages';
import type { CommandAuth } from '../../contract/plan';

/** How a test bends a signature: sign with someone else's key, for another run or stage, at another time. */
export interface Bend {
  /** whose private key signs (default: the key named as the signer) */
  keyOf?: string;
  /** the key name the signature claims (default: `by`, or the front end's name) */
  as?: string;
  /** sign as this front end (a key with frontEnd: true) */
  frontEnd?: string;
  workflowId?: string;
  runId?: string;
  stage?: string;
  /** ms added to the workflow's time */
  skewMs?: number;
}

export interface TestSigners {
  /** the plan's commandAuth: every test person's and front end's public key */
  auth: CommandAuth;
  /** the actor as a client would send it, signed for the release's current run and stage */
  signed(env: TestWorkflowEnvironment, h: WorkflowHandle, cmd: Command, actor: Omit<Actor, 'signed' | 'stage'>, bend?: Bend): Promise<Actor>;
  signal(env: TestWorkflowEnvironment, h: WorkflowHandle, cmd: Command, actor: Omit<Actor, 'signed' | 'stage'>, bend?: Bend): Promise<void>;
  update(env: TestWorkflowEnvironment, h: WorkflowHandle, cmd: Command, actor: Omit<Actor, 'signed' | 'stage'>, bend?: Bend): Promise<CommandResult>;
}

export const TEST_PEOPLE = ['ana', 'bob', 'mallory', 'U024BE7LH'];
export const TEST_FRONT_ENDS = ['slack-app'];

export function testSigners(over: Partial<CommandAuth> = {}): TestSigners {
  const keys = new Map<string, KeyObject>([...TEST_PEOPLE, ...TEST_FRONT_ENDS].map((n) => [n, generateKeyPairSync('ed25519').privateKey]));
  const auth: CommandAuth = {
    requireSigned: true,
    signers: Object.fromEntries([...keys].map(([n, k]) => [n, { publicKey: publicKeyBase64(k), frontEnd: TEST_FRONT_ENDS.includes(n) }])),
    releaseManagers: [],
    maxAgeMs: 5 * 60_000,
    futureSkewMs: 60_000,
    ...over,
  };
  const signed: TestSigners['signed'] = async (env, h, cmd, actor, bend = {}) => {
    const [now, status, described] = await Promise.all([env.currentTimeMs(), h.query(statusQuery), h.describe()]);
    const keyName = bend.as ?? bend.frontEnd ?? actor.by;
    const key = keys.get(bend.keyOf ?? bend.frontEnd ?? keyName) ?? keys.get('mallory')!;
    const signer = new CommandSigner(key, keyName, () => now + (bend.skewMs ?? 0));
    return signer.sign(cmd, actor, {
      workflowId: bend.workflowId ?? h.workflowId,
      runId: bend.runId ?? described.runId,
      stage: bend.stage ?? commandStage(status),
    });
  };
  return {
    auth,
    signed,
    signal: async (env, h, cmd, actor, bend) => h.signal(SIGNALS[cmd], await signed(env, h, cmd, actor, bend)),
    update: async (env, h, cmd, actor, bend) => h.executeUpdate(commandUpdate, { args: [cmd, await signed(env, h, cmd, actor, bend)] }),
  };
}
