// Notices as one line each on the worker's stdout: the notifier that is always there.
import type { Notice, Notifier } from '../types';

export class ConsoleNotifier implements Notifier {
  readonly name = 'console';
  constructor(private readonly write: (line: string) => void = (l) => process.stdout.write(l + '\n')) {}

  async notify(n: Notice): Promise<{ ref: string }> {
    const stage = n.stage ? ` [${n.stage}, ${n.trafficPercent ?? 0} %]` : '';
    this.write(`[quad] ${new Date(n.at).toISOString()} ${n.kind}${stage} ${n.text}${n.detail ? `\n[quad]   ${n.detail.replace(/\n/g, '\n[quad]   ')}` : ''}`);
    return { ref: n.releaseId };
  }
}
