// Loading signing keys as people have them: an OpenSSH ed25519 key made by the real ssh-keygen, the
// PKCS#8 PEM `quad keygen` writes, and the refusals (passphrase, another key type); and the public key
// forms config accepts, all resolving to the same 32 bytes the workflow verifies with.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandMessage } from '../contract/command-signature';
import { resolvePublicKey } from '../config/public-key';
import { CommandSigner, generateSigningKey, loadPrivateKey, personalSigner, publicKeyBase64, slackSigner } from './signing';
import { parseConfig } from '../config/load';

const dir = mkdtempSync(join(tmpdir(), 'quad-signing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sshKeygen = (file: string, ...args: string[]) => execFileSync('ssh-keygen', ['-q', '-f', file, '-C', 'ana@laptop', ...args], { stdio: 'pipe' });

test('an unencrypted OpenSSH ed25519 key (ssh-keygen) loads, and its public half is the one in its .pub', () => {
  const file = join(dir, 'id_ed25519');
  sshKeygen(file, '-t', 'ed25519', '-N', '');
  const key = loadPrivateKey(file, 'test');
  const pubLine = readFileSync(`${file}.pub`, 'utf8');
  expect(resolvePublicKey({ public_key: pubLine }, 'test')).toBe(publicKeyBase64(key));
  expect(resolvePublicKey({ public_key_file: `${file}.pub` }, 'test')).toBe(publicKeyBase64(key));
  // and what it signs verifies with that public key
  const signer = new CommandSigner(key, undefined, () => 1_000);
  const actor = signer.sign('rollback', { by: 'ana', reason: 'why' }, { workflowId: 'release:checkout', runId: 'r1', stage: 'canary 5 %' });
  const msg = commandMessage({
    cmd: 'rollback',
    workflowId: 'release:checkout',
    runId: 'r1',
    stage: 'canary 5 %',
    by: 'ana',
    reason: 'why',
    at: 1_000,
    key: 'ana',
  });
  expect(verify(null, msg, key, Buffer.from(actor.signed!.sig, 'base64'))).toBe(true);
});

test('a passphrase-protected OpenSSH key and an RSA key are refused in plain words', () => {
  const locked = join(dir, 'locked');
  sshKeygen(locked, '-t', 'ed25519', '-N', 'secret');
  expect(() => loadPrivateKey(locked, 'QUAD_SIGNING_KEY')).toThrow(/passphrase-protected/);
  const rsa = join(dir, 'rsa.pem');
  writeFileSync(rsa, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  expect(() => loadPrivateKey(rsa, 'QUAD_SIGNING_KEY')).toThrow(/a rsa key; quad signs with Ed25519/);
  expect(() => loadPrivateKey(join(dir, 'missing'), 'QUAD_SIGNING_KEY')).toThrow(/cannot read .*ENOENT/);
});

test('quad keygen’s PEM loads from a path or from the variable itself; config takes its public line, base64 or ${ENV}', () => {
  const { privatePem, publicLine } = generateSigningKey('ana');
  const file = join(dir, 'quad.pem');
  writeFileSync(file, privatePem);
  const raw = publicKeyBase64(loadPrivateKey(file, 'test'));
  expect(publicKeyBase64(loadPrivateKey(privatePem, 'test'))).toBe(raw);
  expect(resolvePublicKey({ public_key: publicLine }, 'x')).toBe(raw);
  expect(resolvePublicKey({ public_key: raw }, 'x')).toBe(raw);
  process.env.QUAD_TEST_PUBKEY = publicLine;
  expect(resolvePublicKey({ public_key: '${QUAD_TEST_PUBKEY}' }, 'x')).toBe(raw);
  delete process.env.QUAD_TEST_PUBKEY;
  expect(() => resolvePublicKey({ public_key: '${QUAD_TEST_PUBKEY}' }, 'security.signers.ana')).toThrow('security.signers.ana: QUAD_TEST_PUBKEY is not set');
  expect(() => resolvePublicKey({ public_key: 'ssh-rsa AAAAB3NzaC1yc2E' }, 'security.signers.ana')).toThrow(/expected "ssh-ed25519 AAAA…"/);
});

test('which key signs: $QUAD_SIGNING_KEY, then security.signing_key; the Slack app signs as the front end slack-app', () => {
  const a = generateSigningKey();
  const b = generateSigningKey();
  const fa = join(dir, 'a.pem');
  const fb = join(dir, 'b.pem');
  writeFileSync(fa, a.privatePem);
  writeFileSync(fb, b.privatePem);
  const cfg = parseConfig(`security: { signing_key: ${fb} }\nservices: { checkout: {} }\n`, 'test');
  expect(personalSigner(cfg, { QUAD_SIGNING_KEY: fa })?.publicLine).toBe(a.publicLine.trim());
  expect(personalSigner(cfg, {})?.publicLine).toBe(b.publicLine.trim());
  const slack = slackSigner({ QUAD_SLACK_SIGNING_KEY: fa })!;
  const actor = slack.sign('approve', { by: 'U024BE7LH' }, { workflowId: 'release:checkout', runId: 'r', stage: 'release' });
  expect(actor.signed?.key).toBe('slack-app');
  expect(slackSigner({})).toBeNull();
});
