// The release judge: a streaming guard (one interval at a time → ok or breach) and a window judge
// (PASS / FAIL / INCONCLUSIVE over a whole stage window). Pure and deterministic: no I/O, no clock,
// no randomness, so it runs in activities, benchmarks and, if need be, the workflow sandbox alike.
// Its files import only each other, ../contract/verdict (types) and, in stats.ts, pure maths.
//
//   guard.ts         guardStep: the streaming guard
//   window.ts        judgeWindow: the window judge
//   error-rate.ts    error rate: sequential change-point scans, the limits, the wording of a finding
//   error-window.ts  error rate: the window's strict and final fixed-sample looks
//   continuous.ts    latency / CPU / memory: what each limit observes, robust CUSUM steps
//   state.ts         GuardState (plain JSON, travels in heartbeats)
//   tuning.ts        statistical levels
//   format.ts        numbers for people
//   stats.ts         the statistics
//
// Callers import from here, not from the files inside.
export { guardStep } from './guard';
export { judgeWindow } from './window';
export { newGuardState, type GuardState } from './state';
export { FINAL_CONFIDENCE, SEQUENTIAL_ALPHA, WINDOW_ALPHA } from './tuning';
export { fmtConfidence, fmtPct, fmtRatio } from './format';
// the statistics bench:judge uses for its detection bounds
export { bernoulliLogLR, binomialUpperTail, median, quantileRank } from './stats';
