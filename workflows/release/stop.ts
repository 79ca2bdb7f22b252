// Why a release stopped before success: thrown inside the rollout, read by the rollback.
export type StopKind = 'breach' | 'fail' | 'rollback' | 'reject' | 'timeout' | 'revert' | 'keep' | 'region' | 'busy';

export class Stop extends Error {
  constructor(
    readonly kind: StopKind,
    readonly why: string,
    readonly by?: string,
  ) {
    super(why);
    this.name = 'Stop';
  }
}

/** The message that says why: an activity failure's own cause, not its wrapper's "Activity task failed". */
export const causeOf = (err: unknown): string => {
  const e = err as { cause?: { message?: string; cause?: { message?: string } }; message?: string };
  return (e.cause?.cause?.message ?? e.cause?.message ?? e.message ?? String(err)).slice(0, 300);
};
