// The chaos run's two sizes: CI (the jest test and the default of npm run test:chaos) and full (--full).
import type { ChaosOptions } from './run';

// No step is spared a kill: since the deployer calls heartbeat (20 s heartbeat timeout), a call on a
// killed worker is retried on another in seconds. Before, prepare and promote (15 min) and the shift's
// split call (6 min) held a killed worker's release for their whole timeout; run.ts's `spare` option
// remains for runs that want to leave such steps alone.

type Size = Omit<ChaosOptions, 'seed' | 'log'>;

export const CI_SIZE: Size = { releases: 8, kills: 8, serverKills: 1, lanes: 3, flagLanes: 1, workers: 2 };
export const FULL_SIZE: Size = { releases: 100, kills: 100, serverKills: 2, lanes: 4, flagLanes: 1, workers: 3 };
