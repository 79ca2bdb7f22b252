// For tests that run against a config file (the e2e stacks): make a person's key, list its public half
// under security.signers in that file, and hand back the signer to give Releases, as the CLI does with
// the person's own key.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { CommandSigner, publicKeyLine } from '../../client/signing';

/** Adds `name`'s new public key to the config file (JSON or YAML; written back as JSON) and returns its signer. */
export function trustNewSigner(configFile: string, name = 'ana', frontEnd = false): CommandSigner {
  const { privateKey } = generateKeyPairSync('ed25519');
  const doc = (yaml.load(readFileSync(configFile, 'utf8')) ?? {}) as { security?: { signers?: Record<string, unknown> } };
  doc.security ??= {};
  doc.security.signers = { ...doc.security.signers, [name]: { public_key: publicKeyLine(privateKey, name), ...(frontEnd ? { front_end: true } : {}) } };
  writeFileSync(configFile, JSON.stringify(doc, null, 2));
  return new CommandSigner(privateKey, frontEnd ? name : undefined);
}
