// The sample ratio mismatch check: its Bayes factor against the visit-by-visit product it stands for,
// known splits, the edges, and by seeded simulation that looking at every interval keeps alpha.
import { rng } from '../../test/support/prng';
import { SRM_PRIOR_CONCENTRATION, logGamma, sampleRatioCheck } from './srm';

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v; v >>>= 1) n += v & 1;
  return n;
}

describe('logGamma', () => {
  it('matches known values', () => {
    expect(logGamma(1)).toBeCloseTo(0, 13);
    expect(logGamma(2)).toBeCloseTo(0, 13);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 13);
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 12);
    expect(logGamma(0.1)).toBeCloseTo(2.252712651734206, 12);
    // Stirling's series is accurate to ~1e-20 at 1e6
    const x = 1e6;
    const stirling = (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x);
    expect(Math.abs(logGamma(x) - stirling)).toBeLessThan(1e-6);
  });
});

describe('sample ratio mismatch', () => {
  it('the Bayes factor is the product over visits of the prior predictive against the configured weight', () => {
    const r = rng(5);
    const w = 0.3;
    const c = SRM_PRIOR_CONCENTRATION;
    let nA = 0;
    let nB = 0;
    let logProduct = 0;
    for (let i = 0; i < 300; i++) {
      const toB = r() < 0.4;
      // predictive probability of this visit under Beta(c·w, c·(1-w)) updated by the visits so far
      const predB = (c * w + nB) / (c + nA + nB);
      logProduct += toB ? Math.log(predB / w) : Math.log((1 - predB) / (1 - w));
      if (toB) nB++;
      else nA++;
    }
    expect(sampleRatioCheck(nA, nB, w).logBayesFactor).toBeCloseTo(logProduct, 8);
  });

  it('a 55/45 split on a 50/50 configuration trips at large n', () => {
    const s = sampleRatioCheck(11000, 9000, 0.5);
    expect(s.tripped).toBe(true);
    expect(s.observedShareB).toBeCloseTo(0.45, 12);
    expect(s.expectedShareB).toBe(0.5);
    expect(s.pValue).toBeLessThan(0.001);
  });

  it('a 51/49 split at small n does not trip, nor does an exact split at any n', () => {
    expect(sampleRatioCheck(510, 490, 0.5).tripped).toBe(false);
    const exact = sampleRatioCheck(500000, 500000, 0.5);
    expect(exact.tripped).toBe(false);
    expect(exact.logBayesFactor).toBeLessThan(0);
  });

  it('judges the split against the configured weight, not 50/50', () => {
    expect(sampleRatioCheck(8000, 2000, 0.2).tripped).toBe(false);
    expect(sampleRatioCheck(5000, 5000, 0.2).tripped).toBe(true);
  });

  it('a stricter alpha needs more evidence', () => {
    // 52/48 on 20000 visits: z = 5.7, log BF ~ 13
    const lbf = sampleRatioCheck(10400, 9600, 0.5).logBayesFactor;
    expect(lbf).toBeGreaterThan(Math.log(1000));
    expect(sampleRatioCheck(10400, 9600, 0.5, Math.exp(-lbf) / 2).tripped).toBe(false);
    expect(sampleRatioCheck(10400, 9600, 0.5, Math.exp(-lbf) * 2).tripped).toBe(true);
  });

  it('no visits is no evidence; a weight of 0 or 1 trips on the first visit to the other side', () => {
    expect(sampleRatioCheck(0, 0, 0.5)).toEqual({ tripped: false, observedShareB: 0, expectedShareB: 0.5, visits: 0, logBayesFactor: 0, pValue: 1 });
    expect(sampleRatioCheck(100, 0, 0).tripped).toBe(false);
    expect(sampleRatioCheck(100, 1, 0).tripped).toBe(true);
    expect(sampleRatioCheck(0, 100, 1).tripped).toBe(false);
    expect(sampleRatioCheck(1, 100, 1).tripped).toBe(true);
  });

  it('looked at after every interval of a fair split, it trips in at most alpha of runs', () => {
    const r = rng(2020);
    const alpha = 0.02;
    const runs = 400;
    let trips = 0;
    for (let run = 0; run < runs; run++) {
      let nA = 0;
      let nB = 0;
      for (let t = 0; t < 200; t++) {
        // 96 fair coin flips per interval: the 32 bits of each of three draws
        for (let i = 0; i < 3; i++) {
          const heads = popcount(Math.floor(r() * 4294967296));
          nB += heads;
          nA += 32 - heads;
        }
        if (sampleRatioCheck(nA, nB, 0.5, alpha).tripped) {
          trips++;
          break;
        }
      }
    }
    expect(trips / runs).toBeLessThanOrEqual(alpha);
  });
});
