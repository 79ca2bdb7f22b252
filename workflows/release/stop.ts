// Why a release stopped before success: thrown inside the rollout, read by the rollback.
export type StopKind = 'breach' | 'fail' | 'rollback' | 'reject' | 'timeout';

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
