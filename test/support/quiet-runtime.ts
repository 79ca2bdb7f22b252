// Tests print their own story; the SDK's per-worker INFO lines would bury it. Warnings still show.
import { Runtime, DefaultLogger } from '@temporalio/worker';

try {
  Runtime.install({ logger: new DefaultLogger('WARN'), telemetryOptions: { logging: { forward: {}, filter: 'ERROR' } } as never });
} catch {
  /* already installed in this process */
}
