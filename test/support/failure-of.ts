// The failure a provider call throws, as Temporal sees it: its type, whether it may be retried, its
// first detail, its message and any retry delay it asks for. Fails the test when the call succeeds or
// throws something that is not an ApplicationFailure.
import { ApplicationFailure } from '@temporalio/common';

export async function failureOf(p: Promise<unknown>) {
  const err = await p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  const f = err as ApplicationFailure;
  return {
    type: f.type,
    nonRetryable: f.nonRetryable,
    details: f.details?.[0] as Record<string, unknown> | undefined,
    message: f.message,
    nextRetryDelay: f.nextRetryDelay,
  };
}
