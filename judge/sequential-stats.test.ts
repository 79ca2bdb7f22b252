// The sequential pieces the guard runs every interval: the change-point scan, the robust noise scale and
// CUSUM, and the Shiryaev–Roberts mixture, against closed forms and simulations.
import { gaussian, rng } from '../test/support/prng';
import { bernoulliLogLR, cusumStep, logAddExp, logStartWeight, madSigma, median, noiseScale, quantileRank, scanStep, srStep } from './stats';

describe('change-point scan', () => {
  it('start weights sum to at most 1, with and without a horizon', () => {
    for (const h of [null, 10, 90]) {
      let sum = 0;
      for (let s = 0; s < 200000; s++) sum += Math.exp(logStartWeight(s, h));
      expect(sum).toBeLessThanOrEqual(1);
      expect(sum).toBeGreaterThan(0.99);
    }
  });

  it('equals the brute-force maximum over start points', () => {
    const r = rng(7);
    const llrs = Array.from({ length: 60 }, () => gaussian(r) - 0.2);
    let m: number | null = null;
    llrs.forEach((l, t) => {
      m = scanStep(m, l, t, 60).value;
      let brute = -Infinity;
      for (let s = 0; s <= t; s++) {
        let sum = logStartWeight(s, 60);
        for (let u = s; u <= t; u++) sum += llrs[u];
        brute = Math.max(brute, sum);
      }
      expect(m).toBeCloseTo(brute, 9);
    });
  });

  it('false alarm rate stays under alpha for a stream exactly at the limit (Ville + union bound)', () => {
    const r = rng(42);
    const p0 = 0.02,
      n = 25,
      factors = [1.5, 2, 3, 5, 10, 30],
      alpha = 0.05;
    const alarm = Math.log(factors.length / alpha);
    let alarms = 0;
    const runs = 800;
    for (let run = 0; run < runs; run++) {
      const stats: (number | null)[] = factors.map(() => null);
      let fired = false;
      for (let t = 0; t < 90 && !fired; t++) {
        let k = 0;
        for (let i = 0; i < n; i++) if (r() < p0) k++;
        factors.forEach((f, j) => {
          stats[j] = scanStep(stats[j], bernoulliLogLR(k, n, p0, p0 * f), t, 90).value;
          if (stats[j]! >= alarm) fired = true;
        });
      }
      if (fired) alarms++;
    }
    expect(alarms / runs).toBeLessThan(alpha);
  });
});

describe('robust noise and CUSUM', () => {
  it('median, nearest-rank quantile and MAD sigma', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(quantileRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBe(9);
    expect(quantileRank([5], 0.9)).toBe(5);
    expect(madSigma([1, 2, 3, 4, 100])).toBeCloseTo(1.4826, 4);
  });

  it('noise scale from first differences ignores a step in the level and a linear trend', () => {
    const r = rng(3);
    const series = Array.from({ length: 90 }, (_, t) => 0.02 * t + (t >= 40 ? 5 : 0) + 0.3 * gaussian(r));
    const diffs = series.slice(1).map((x, i) => x - series[i]);
    const s = noiseScale(diffs, 10, 0);
    expect(s).toBeGreaterThan(0.25);
    expect(s).toBeLessThan(0.36);
  });

  it('noise scale leans on the prior while data is scarce', () => {
    expect(noiseScale([], 2, 2)).toBe(2);
    expect(noiseScale([0.1, -0.1], 2, 2)).toBeGreaterThan(1.3);
  });

  it('CUSUM clips single spikes and resets at zero', () => {
    let s = cusumStep(0, 100, 0.5, 2.5);
    expect(s).toBe(2);
    s = cusumStep(s, -100, 0.5, 2.5);
    expect(s).toBe(0);
    s = [3, 3, 3].reduce((acc, z) => cusumStep(acc, z, 0.5, 2.5), 0);
    expect(s).toBe(6);
  });
});

describe('Shiryaev–Roberts mixture', () => {
  it('equals the brute-force sum over start points', () => {
    const r = rng(8);
    const llrs = Array.from({ length: 60 }, () => gaussian(r) - 0.2);
    let m: number | null = null;
    llrs.forEach((l, t) => {
      m = srStep(m, l, t, 60);
      let brute = -Infinity;
      for (let s = 0; s <= t; s++) {
        let sum = logStartWeight(s, 60);
        for (let u = s; u <= t; u++) sum += llrs[u];
        brute = logAddExp(brute, sum);
      }
      expect(m).toBeCloseTo(brute, 9);
    });
  });

  it('false alarm rate of the mean over alternatives stays under alpha at the limit (Ville)', () => {
    const r = rng(43);
    const p0 = 0.02,
      n = 25,
      factors = [1.5, 2, 3, 5, 10, 30],
      alpha = 0.05;
    let alarms = 0;
    const runs = 800;
    for (let run = 0; run < runs; run++) {
      const sr: (number | null)[] = factors.map(() => null);
      let fired = false;
      for (let t = 0; t < 90 && !fired; t++) {
        let k = 0;
        for (let i = 0; i < n; i++) if (r() < p0) k++;
        let total = -Infinity;
        factors.forEach((f, j) => {
          sr[j] = srStep(sr[j], bernoulliLogLR(k, n, p0, p0 * f), t, 90);
          total = logAddExp(total, sr[j]!);
        });
        if (total - Math.log(factors.length) >= Math.log(1 / alpha)) fired = true;
      }
      if (fired) alarms++;
    }
    expect(alarms / runs).toBeLessThan(alpha);
  });
});
