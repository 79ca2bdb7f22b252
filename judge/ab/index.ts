// The A/B strategy's statistics: pure, for the workflow sandbox. Callers import from here.
//
//   decide.ts      decideAb: continue / ship B / keep A / stop on a sample ratio mismatch, with its sentence
//   sequential.ts  mSPRT on the difference of two conversion rates: always-valid p-value and confidence sequence
//   srm.ts         sample ratio mismatch: always-valid beta-binomial Bayes factor on the split of visits
export { AB_PLAN_DEFAULTS, decideAb, type AbDecision, type AbDecisionKind, type AbObservation, type AbPlan } from './decide';
export { differenceSequence, mixtureVariance, pooledMixtureVariance, type ArmCounts, type DifferenceSequence } from './sequential';
export { SRM_PRIOR_CONCENTRATION, sampleRatioCheck, type SrmCheck } from './srm';
