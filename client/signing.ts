// The private half of signed commands: load a person's (or a front end's) Ed25519 key and sign what
// the workflow verifies (contract/command-signature.ts). Keys: an unencrypted OpenSSH key
// (~/.ssh/id_ed25519, `openssh-key-v1`), or PEM PKCS#8 as `quad keygen` writes. node:crypto cannot read
// the OpenSSH format, so it is parsed here (seed + public key → JWK) and handed to createPrivateKey.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { commandMessage, type SignedFields } from '../contract/command-signature';
import type { Actor, Command } from '../contract/messages';
import type { QuadConfig } from '../config/schema';
import { InputError } from '../config/errors';
import { sshEd25519Blob } from '../config/public-key';

const OPENSSH_MAGIC = 'openssh-key-v1\0';

/** Reads the length-prefixed fields of the OpenSSH key format. */
class SshReader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  u32(): number {
    if (this.at + 4 > this.buf.length) throw new InputError('truncated OpenSSH key');
    const n = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return n;
  }
  bytes(): Buffer {
    const n = this.u32();
    if (this.at + n > this.buf.length) throw new InputError('truncated OpenSSH key');
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  text(): string {
    return this.bytes().toString('utf8');
  }
}

const b64url = (b: Buffer) => b.toString('base64url');

/** An unencrypted `openssh-key-v1` ed25519 private key → a node:crypto key. */
export function parseOpenSshPrivateKey(pem: string): KeyObject {
  const body = pem
    .replace(/-----(BEGIN|END) OPENSSH PRIVATE KEY-----/g, '')
    .replace(/\s+/g, '')
    .trim();
  const buf = Buffer.from(body, 'base64');
  if (buf.subarray(0, OPENSSH_MAGIC.length).toString('latin1') !== OPENSSH_MAGIC) throw new InputError('not an openssh-key-v1 private key');
  const r = new SshReader(buf.subarray(OPENSSH_MAGIC.length));
  const cipher = r.text();
  r.text(); // kdf name
  r.bytes(); // kdf options
  if (cipher !== 'none') throw new InputError('the OpenSSH key is passphrase-protected; use an unencrypted key for quad (or `quad keygen`)');
  if (r.u32() !== 1) throw new InputError('the OpenSSH key file holds more than one key');
  r.bytes(); // public key blob (repeated inside)
  const priv = new SshReader(r.bytes());
  if (priv.u32() !== priv.u32()) throw new InputError('corrupt OpenSSH key (check bytes differ)');
  const type = priv.text();
  if (type !== 'ssh-ed25519') throw new InputError(`the OpenSSH key is ${type}; quad signs with ssh-ed25519 keys`);
  const pub = priv.bytes();
  const secret = priv.bytes(); // seed (32) + public key (32)
  if (pub.length !== 32 || secret.length !== 64) throw new InputError('corrupt ssh-ed25519 key');
  return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64url(secret.subarray(0, 32)), x: b64url(pub) }, format: 'jwk' });
}

/** A private key from its text: OpenSSH or PEM (PKCS#8); it must be Ed25519. */
export function parsePrivateKey(text: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = text.includes('BEGIN OPENSSH PRIVATE KEY') ? parseOpenSshPrivateKey(text) : createPrivateKey(text);
  } catch (err) {
    throw new InputError(`${where}: not a usable private key (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new InputError(`${where}: a ${key.asymmetricKeyType} key; quad signs with Ed25519`);
  return key;
}

/** A key from a file path, or the key itself when the variable holds PEM text. */
export function loadPrivateKey(pathOrPem: string, where: string): KeyObject {
  if (pathOrPem.includes('-----BEGIN')) return parsePrivateKey(pathOrPem, where);
  let text: string;
  try {
    text = readFileSync(pathOrPem, 'utf8');
  } catch (err) {
    throw new InputError(`${where}: cannot read ${pathOrPem}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parsePrivateKey(text, `${where} (${pathOrPem})`);
}

/** The raw 32-byte public key, base64, as the plan carries it. */
export function publicKeyBase64(key: KeyObject): string {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url').toString('base64');
}

/** `ssh-ed25519 AAAA… comment`, what config's public_key takes. */
export function publicKeyLine(key: KeyObject, comment = ''): string {
  const raw = Buffer.from(publicKeyBase64(key), 'base64');
  return `ssh-ed25519 ${sshEd25519Blob(raw).toString('base64')}${comment ? ` ${comment}` : ''}`;
}

/** Where the command is aimed: the release's run and the gate or stage it shows (commandStage). */
export interface CommandTarget {
  workflowId: string;
  runId: string;
  stage: string;
}

export class CommandSigner {
  /**
   * `frontEnd`: the key's name in config when it is a front end's (the Slack app), signing for the people
   * it verified; absent, the key is one person's and signs under their own name (`by`).
   */
  constructor(
    private readonly key: KeyObject,
    readonly frontEnd?: string,
    private readonly clock: () => number = Date.now,
  ) {}

  get publicKey(): string {
    return publicKeyBase64(this.key);
  }

  /** `ssh-ed25519 AAAA…`, for security.signers in the config */
  get publicLine(): string {
    return publicKeyLine(this.key);
  }

  /** The actor, with its stage and signature: what the workflow's verify-command.ts accepts. */
  sign(cmd: Command, actor: Omit<Actor, 'signed' | 'stage'>, target: CommandTarget): Actor {
    const at = this.clock();
    const keyName = this.frontEnd ?? actor.by;
    const fields: SignedFields = { cmd, ...target, ...actor, at, key: keyName };
    const sig = sign(null, commandMessage(fields), this.key).toString('base64');
    return { ...actor, stage: target.stage, signed: { key: keyName, workflowId: target.workflowId, runId: target.runId, at, sig } };
  }
}

/** The person's own key: config's security.signing_key, else $QUAD_SIGNING_KEY, else ~/.ssh/id_ed25519. */
export function personalSigner(cfg: QuadConfig, env: NodeJS.ProcessEnv = process.env): CommandSigner | null {
  const fromConfig = cfg.security.signing_key;
  const fromEnv = env.QUAD_SIGNING_KEY;
  const ssh = join(env.HOME ?? homedir(), '.ssh', 'id_ed25519');
  if (fromEnv) return new CommandSigner(loadPrivateKey(fromEnv, 'QUAD_SIGNING_KEY'));
  if (fromConfig) return new CommandSigner(loadPrivateKey(fromConfig, 'security.signing_key'));
  if (existsSync(ssh)) return new CommandSigner(loadPrivateKey(ssh, ssh));
  return null;
}

/** The name the Slack app's key is listed under in security.signers (front_end: true). */
export const SLACK_SIGNER = 'slack-app';

/**
 * The Slack app's signer: its own key from $QUAD_SLACK_SIGNING_KEY (a path, or the PEM itself), signing as
 * the front end `slack-app` for the Slack user it verified. Null when no key is configured.
 */
export function slackSigner(env: NodeJS.ProcessEnv = process.env, name = SLACK_SIGNER): CommandSigner | null {
  const ref = env.QUAD_SLACK_SIGNING_KEY;
  return ref ? new CommandSigner(loadPrivateKey(ref, 'QUAD_SLACK_SIGNING_KEY'), name) : null;
}

/** A new key: the private half as PKCS#8 PEM (to keep, mode 0600) and the public line for the config. */
export function generateSigningKey(comment = ''): { privatePem: string; publicLine: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicLine: publicKeyLine(privateKey, comment) };
}
