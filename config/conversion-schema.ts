// The `conversion` key of a cloudwatch metrics entry: an A/B test's business metric as CloudWatch holds it.
// Names follow CloudWatch's own limits so a typo fails at config load, not as an empty answer mid-test.
import { z } from 'zod';

// CloudWatch's limits (API reference: Dimension, Metric): names 1–255 characters with at least one that is
// not whitespace and no control character; namespaces and dimensions ASCII only, and their names may not
// start with ":"; dimension values up to 1024 characters.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const NOT_ASCII = /[^\u0000-\u007f]/;
const cloudWatchString = (what: string, max: number, rules: { ascii: boolean; leadingColon: boolean }) =>
  z
    .string()
    // the length first, alone: an empty name is one mistake, not three
    .min(1, { message: `a ${what} of 1 to ${max} characters`, abort: true })
    .max(max, { message: `a ${what} of 1 to ${max} characters`, abort: true })
    .refine((s) => s.trim() !== '', `a ${what} with at least one character that is not whitespace`)
    .refine((s) => !CONTROL.test(s), `a ${what} without control characters`)
    .refine((s) => !rules.ascii || !NOT_ASCII.test(s), `a ${what} of ASCII characters only`)
    .refine((s) => rules.leadingColon || !s.startsWith(':'), `a ${what} not starting with ":"`);
const namespace = cloudWatchString('namespace', 255, { ascii: true, leadingColon: false });
const metricName = cloudWatchString('metric name', 255, { ascii: false, leadingColon: true });
const dimensionName = cloudWatchString('dimension name', 255, { ascii: true, leadingColon: false });

/** `${...}` placeholders a conversion dimension may hold: the variant's own version is the variant dimension. */
const PLACEHOLDER = /\$\{(\w+)\}/g;
const ALLOWED = new Set(['service', 'region', 'version']);
const dimensionValue = cloudWatchString('dimension value', 1024, { ascii: true, leadingColon: true }).refine(
  (s) => [...s.matchAll(PLACEHOLDER)].every((m) => ALLOWED.has(m[1])),
  'placeholders may only be ${service}, ${region} or ${version}',
);

// A metric has at most 30 dimensions; the variant dimension is one of them.
const MAX_EXTRA_DIMENSIONS = 29;

export const conversionSchema = z
  .strictObject({
    /** default: the metrics entry's namespace */
    namespace: namespace.optional(),
    conversions_metric: metricName,
    /** the denominator: visits that could convert */
    visits_metric: metricName,
    /** the dimension whose value is the version (A: the serving one, B: the new one) */
    variant_dimension: dimensionName.default('Version'),
    /** other dimensions both metrics are published with; ${service}, ${region}, ${version} are filled */
    dimensions: z
      .record(dimensionName, dimensionValue)
      .refine((d) => Object.keys(d).length <= MAX_EXTRA_DIMENSIONS, `at most ${MAX_EXTRA_DIMENSIONS} dimensions besides the variant dimension`)
      .optional(),
    /** counts only: Sum of the published values, or SampleCount when each event is one datapoint */
    stat: z.enum(['Sum', 'SampleCount']).default('Sum'),
  })
  .refine((c) => c.conversions_metric !== c.visits_metric, { message: 'conversions_metric and visits_metric must differ', path: ['visits_metric'] })
  .refine((c) => !c.dimensions || !Object.hasOwn(c.dimensions, c.variant_dimension), {
    message: 'the variant dimension is filled with the version; do not list it in dimensions',
    path: ['dimensions'],
  });

export type ConversionConfig = z.infer<typeof conversionSchema>;
