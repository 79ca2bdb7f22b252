// The Temporal connection, from the environment, shared by the worker, the CLI and the Slack app:
// TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY (Temporal Cloud) or TEMPORAL_TLS_CERT /
// TEMPORAL_TLS_KEY (mTLS, file paths), TEMPORAL_TASK_QUEUE. Config supplies the defaults.
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import type { QuadConfig } from '../config/schema';

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  apiKey?: string;
  tls?: { clientCertPair?: { crt: Buffer; key: Buffer } } | true;
}

export function temporalSettings(cfg: QuadConfig, env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const s: TemporalSettings = {
    address: env.TEMPORAL_ADDRESS || cfg.temporal.address,
    namespace: env.TEMPORAL_NAMESPACE || cfg.temporal.namespace,
    taskQueue: env.TEMPORAL_TASK_QUEUE || cfg.temporal.task_queue,
  };
  if (env.TEMPORAL_API_KEY) {
    s.apiKey = env.TEMPORAL_API_KEY;
    s.tls = true;
  }
  if (env.TEMPORAL_TLS_CERT && env.TEMPORAL_TLS_KEY) {
    s.tls = { clientCertPair: { crt: readFileSync(env.TEMPORAL_TLS_CERT), key: readFileSync(env.TEMPORAL_TLS_KEY) } };
  }
  return s;
}

/** Options both Connection.connect and NativeConnection.connect take. */
export function connectionOptions(s: TemporalSettings) {
  return { address: s.address, ...(s.tls ? { tls: s.tls } : {}), ...(s.apiKey ? { apiKey: s.apiKey } : {}) };
}

export async function connectClient(
  cfg: QuadConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ client: Client; settings: TemporalSettings; close: () => Promise<void> }> {
  const settings = temporalSettings(cfg, env);
  const connection = await Connection.connect({ ...connectionOptions(settings), connectTimeout: '5s' });
  const client = new Client({ connection, namespace: settings.namespace });
  return { client, settings, close: () => connection.close() };
}
