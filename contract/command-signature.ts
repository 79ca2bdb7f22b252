// What a signed command signs, shared by the signers (client/signing.ts) and the workflow that verifies
// (workflows/release/verify-command.ts). Pure and dependency-free: the workflow sandbox has no Buffer,
// atob or TextEncoder guarantees, so base64 and UTF-8 are done by hand here.
import type { Actor, Command, ReleaseStatus } from './messages';

/** Bumped if the signed fields ever change, so an old signature can never be read as a new one. */
export const SIGNED_COMMAND_VERSION = 'quad-command/1';

export interface SignedFields {
  cmd: Command;
  workflowId: string;
  runId: string;
  stage: string;
  by: string;
  via?: string;
  reason?: string;
  at: number;
  key: string;
}

/**
 * The exact bytes signed: a JSON array, so no field can run into the next (a stage name containing a
 * newline cannot forge another field) and every signer builds the same bytes.
 */
export function commandMessage(f: SignedFields): Uint8Array {
  const fields = [SIGNED_COMMAND_VERSION, f.cmd, f.workflowId, f.runId, f.stage, f.by, f.via ?? '', f.reason ?? '', f.at, f.key];
  return utf8(JSON.stringify(fields));
}

/** The fields of an actor's signed command, as the workflow rebuilds them from what it received. */
export function signedFieldsOf(cmd: Command, actor: Actor & { signed: NonNullable<Actor['signed']> }): SignedFields {
  const { signed } = actor;
  return {
    cmd,
    workflowId: signed.workflowId,
    runId: signed.runId,
    stage: actor.stage ?? '',
    by: actor.by,
    ...(actor.via !== undefined ? { via: actor.via } : {}),
    ...(actor.reason !== undefined ? { reason: actor.reason } : {}),
    at: signed.at,
    key: signed.key,
  };
}

/**
 * The stage a command is aimed at, as both sides read it: the gate awaiting approval if one waits, else
 * the stage rolling out, else the phase (before any stage).
 */
export function commandStage(s: Pick<ReleaseStatus, 'stage' | 'phase'> & { awaitingApproval?: string | null }): string {
  return s.awaitingApproval ?? s.stage ?? s.phase;
}

export function utf8(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    let c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate, as TextEncoder writes it
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function toBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[n >> 18] + B64[(n >> 12) & 63] + (i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=') + (i + 2 < bytes.length ? B64[n & 63] : '=');
  }
  return out;
}

/** Standard base64 with padding; null for anything else (so a bad signature is refused, never thrown). */
export function fromBase64(text: string): Uint8Array | null {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const n = [0, 1, 2, 3].reduce((acc, k) => (acc << 6) | (text[i + k] === '=' ? 0 : B64.indexOf(text[i + k])), 0);
    for (const b of [n >> 16, (n >> 8) & 255, n & 255]) if (o < out.length) out[o++] = b;
  }
  return out;
}
