// A signer's public key as config gives it → the raw 32 bytes (base64) the workflow verifies with.
// Accepted: an OpenSSH public key line (`ssh-ed25519 AAAA… comment`, as ~/.ssh/id_ed25519.pub and
// `quad keygen` print), base64 of the 32 raw bytes, a `${ENV_VAR}` holding either, or a file holding either.
import { readFileSync } from 'node:fs';
import { envNameOf } from './env-ref';
import { InputError } from './errors';

export interface PublicKeySource {
  public_key?: string;
  public_key_file?: string;
}

/** The OpenSSH wire form: string "ssh-ed25519", then string <32 bytes>, each with a 4-byte length. */
export function sshEd25519Blob(raw: Buffer): Buffer {
  const name = Buffer.from('ssh-ed25519');
  const len = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  return Buffer.concat([len(name.length), name, len(raw.length), raw]);
}

function parseKeyText(text: string, where: string): string {
  const t = text.trim();
  const ssh = /^ssh-ed25519\s+([A-Za-z0-9+/]+={0,2})(\s.*)?$/.exec(t);
  if (ssh) {
    const blob = Buffer.from(ssh[1], 'base64');
    const raw = blob.subarray(blob.length - 32);
    if (blob.length !== 51 || !sshEd25519Blob(raw).equals(blob)) throw new InputError(`${where}: not an ssh-ed25519 public key`);
    return raw.toString('base64');
  }
  if (/^[A-Za-z0-9+/]{43}=$/.test(t)) return t;
  throw new InputError(`${where}: expected "ssh-ed25519 AAAA…" or the base64 of 32 raw Ed25519 bytes`);
}

/** base64 of the raw key; the file or variable is read now, on the side that builds the plan. */
export function resolvePublicKey(src: PublicKeySource, where: string): string {
  if (src.public_key_file) {
    let text: string;
    try {
      text = readFileSync(src.public_key_file, 'utf8');
    } catch (err) {
      throw new InputError(`${where}: cannot read public_key_file ${src.public_key_file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    return parseKeyText(text, `${where} (${src.public_key_file})`);
  }
  const v = src.public_key ?? '';
  if (v.startsWith('${')) {
    const name = envNameOf(v);
    const value = process.env[name];
    if (!value) throw new InputError(`${where}: ${name} is not set`);
    return parseKeyText(value, `${where} ($${name})`);
  }
  return parseKeyText(v, where);
}
