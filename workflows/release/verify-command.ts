// Whether a command really comes from who it says, decided inside the workflow: anyone with access to
// the namespace can send a signal, so the payload's `by` proves nothing until its signature verifies
// against a key the plan lists. Pure and deterministic (time is passed in: workflow time), so replay
// decides exactly as the run did and every rule is unit-tested on its own (verify-command.test.ts).
// eslint-disable-next-line no-restricted-imports -- pure JS: a synchronous verify reads no clock, no I/O and no randomness
import { ed25519 } from '@noble/curves/ed25519.js';
import type { Actor, Command } from '../../contract/messages';
import type { CommandAuth } from '../../contract/plan';
import { commandMessage, fromBase64, signedFieldsOf } from '../../contract/command-signature';

/** Where and when the workflow is: what a signature must have been made for. */
export interface VerifyContext {
  workflowId: string;
  runId: string;
  /** commandStage() of the release now */
  stage: string;
  /** workflow time, epoch ms */
  now: number;
}

export type Verified = { ok: true; signer: string } | { ok: false; why: string };

/** Bounded quoting of names that came in the payload (parseActor already bounded and checked them). */
const q = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);

export function verifyCommand(auth: CommandAuth, ctx: VerifyContext, cmd: Command, actor: Actor): Verified {
  const refuse = (why: string): Verified => ({ ok: false, why });
  const { signed } = actor;
  if (!signed) return refuse('unsigned: this release takes signed commands only (quad signs with your key; see security in the config)');
  const signer = Object.prototype.hasOwnProperty.call(auth.signers, signed.key) ? auth.signers[signed.key] : undefined;
  if (!signer) return refuse(`signed with key ${q(signed.key)}, which the config does not list`);
  if (!signer.frontEnd && signed.key !== actor.by) return refuse(`key ${q(signed.key)} signs for ${q(signed.key)} only, not for ${q(actor.by)}`);
  if (actor.via !== undefined && !signer.frontEnd) return refuse('via (a group membership) is taken only from a front end that checked it');
  if (signed.workflowId !== ctx.workflowId) return refuse(`signed for another release (${q(signed.workflowId)})`);
  if (signed.runId !== ctx.runId) return refuse('signed for another run of this release');
  if (actor.stage !== ctx.stage) return refuse(`signed for ${q(actor.stage ?? '(no stage)')}, but the release is at ${q(ctx.stage)}`);
  const age = ctx.now - signed.at;
  if (age > auth.maxAgeMs) return refuse(`the signature is ${Math.round(age / 1000)} s old; at most ${Math.round(auth.maxAgeMs / 1000)} s`);
  if (-age > auth.futureSkewMs) return refuse(`the signature is dated ${Math.round(-age / 1000)} s in the future`);
  const sig = fromBase64(signed.sig);
  const publicKey = fromBase64(signer.publicKey);
  if (!sig || sig.length !== 64) return refuse('the signature is not 64 bytes of base64');
  if (!publicKey || publicKey.length !== 32) return refuse(`key ${q(signed.key)} in the plan is not a 32-byte Ed25519 public key`);
  let good: boolean;
  try {
    good = ed25519.verify(sig, commandMessage(signedFieldsOf(cmd, { ...actor, signed })), publicKey, { zip215: false });
  } catch {
    good = false; // a malformed point: the same answer as a wrong signature
  }
  if (!good) return refuse(`the signature does not verify with key ${q(signed.key)}`);
  return { ok: true, signer: signed.key };
}

/** The identity of one signed command, to refuse it the second time it arrives. */
export const commandId = (cmd: Command, actor: Actor): string | null =>
  actor.signed ? JSON.stringify([actor.signed.key, actor.signed.at, cmd, actor.by, actor.stage ?? '']) : null;
