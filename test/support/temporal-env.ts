// Test environments on the real Temporal servers: time skipping (Java test server) and local (the CLI
// dev server), both with the Quad search attributes registered.
import './quiet-runtime';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { executable, testServerPath, temporalCliPath, searchAttributeKeys, devServerSettings } from './temporal-servers';
import { assertNoSecretsInHistories } from './history-secrets';

/** Before a dev server goes, the secrets scan reads every history it holds (see history-secrets). */
function scannedOnTeardown(env: TestWorkflowEnvironment): TestWorkflowEnvironment {
  const teardown = env.teardown.bind(env);
  env.teardown = async () => {
    try {
      await assertNoSecretsInHistories(env.client);
    } finally {
      await teardown();
    }
  };
  return env;
}

const INDEXED_VALUE_TYPE = { Keyword: 2, Text: 1, Int: 3, Double: 4, Bool: 5, Datetime: 6, KeywordList: 7 } as const;

export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: executable(testServerPath()) } });
  // Without these an upsert fails with "search attribute QuadStage is not defined" and the task retries forever.
  const searchAttributes = Object.fromEntries(Object.entries(devServerSettings().search_attributes).map(([name, type]) => [name, INDEXED_VALUE_TYPE[type]]));
  await env.connection.operatorService.addSearchAttributes({ namespace: env.namespace ?? 'default', searchAttributes });
  // not scanned on teardown: the Java test server has no visibility to list its workflows with
  return env;
}

export async function localEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: executable(temporalCliPath()), ip: '127.0.0.1', searchAttributes: searchAttributeKeys() },
  });
  return scannedOnTeardown(env);
}
