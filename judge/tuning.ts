// The judge's tuning: statistical levels (false-alarm bounds, confidence, CUSUM settings), not fitted
// to any scenario. Every other file of the judge takes its numbers from here.

/**
 * Ville bound on the error-rate guard's false alarms over the whole stream (both families together).
 * The bound is loose for counts: `npm run bench:guard` measures the realized rate for a canary sitting
 * exactly at its limit at ≤ 0.6 % per window at 0.03 (≤ 1 % at 0.05), and 0 in 1,000 windows for a
 * canary no worse than the baseline. 0.03 keeps that worst case under 1 % and buys about one interval
 * of detection on low-traffic canaries over 0.01 (the bench's p90 goes 7 → 5).
 */
export const SEQUENTIAL_ALPHA = 0.03;
/** level of the single look the window judge takes at the whole window */
export const WINDOW_ALPHA = 0.01;
/** alternatives of the error-rate scans: how many times past the limit (a grid instead of a prior) */
export const ERROR_FACTORS = [1.5, 2, 3, 5, 10, 30];
/** CUSUM reference value k and threshold h in noise units: ARL ≈ 900 intervals at the limit (Gaussian) */
export const CUSUM_K = 0.5;
export const CUSUM_H = 5;
/** one interval moves the CUSUM by at most CLIP - K = 2: three intervals in a row are needed */
export const CUSUM_CLIP = 2.5;
/** the variance of a p95 estimated from n requests scales like 1/n; this floor is "as if 100 more
 * requests": interval-to-interval variation that more traffic does not remove */
export const LATENCY_FLOOR_VARIANCE = 1 / 100;
/** intervals of missing canary data tolerated before the window is too dark to promote */
export const MAX_DARK_FRACTION = 0.2;
/** an interval's baseline error rate raises the absolute bar at its lower confidence bound at this level */
export const BASELINE_DELTA = 0.01;
/**
 * The end-of-window decision is a single look whose only choices are promote or roll back (too little
 * traffic or dark data are INCONCLUSIVE before it is taken). Promoting a release whose error rate is
 * more likely than not above a limit is the costly mistake, so there the canary is rolled back when it
 * is above a limit with this one-sided confidence over the whole window (per limit; a canary near 1×
 * a 2× limit is almost never that far out — see error-window.test.ts for simulated false-rollback rates).
 * The streaming guard, which looks every interval, keeps SEQUENTIAL_ALPHA.
 */
export const FINAL_CONFIDENCE = 0.9;
/** the signed-rank look needs this many intervals with the metric (its normal tail is rough below) */
export const MIN_RANK_INTERVALS = 10;
/** how many recent standardised differences the noise estimate keeps (bounds the state size) */
export const NOISE_MEMORY = 180;
