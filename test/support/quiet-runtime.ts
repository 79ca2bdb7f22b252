// Tests print their own story; the SDK's per-worker INFO lines would bury it. Imported by the test
// environments only: an installed Runtime keeps a jest worker alive, so files without Temporal skip it.
import { Runtime, DefaultLogger } from '@temporalio/worker';

try {
  Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: { logging: { forward: {}, filter: 'ERROR' } } as never });
} catch {
  /* already installed in this process */
}
