// Numbers for people.
import { fmtConfidence, fmtPct, fmtRatio } from './format';

describe('formatting', () => {
  it('percentages, ratios and confidence for people', () => {
    expect(fmtPct(0.048)).toBe('4.8 %');
    expect(fmtPct(0.0006)).toBe('0.06 %');
    expect(fmtPct(0.0123)).toBe('1.2 %');
    expect(fmtPct(0)).toBe('0 %');
    expect(fmtRatio(81.2)).toBe('81×');
    expect(fmtRatio(2)).toBe('2×');
    expect(fmtRatio(1.25)).toBe('1.25×');
    expect(fmtConfidence(0.99999)).toBe('99.9 %');
    expect(fmtConfidence(0.9986)).toBe('99.8 %');
  });
});
