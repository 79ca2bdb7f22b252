// The holder of `busy:<service>` (see contract/service-busy.ts): started by the release or flag ramp
// that works on the service, as its child; answers whoever finds the service busy with who holds it, and
// when its holder closes (the server's cancel request) tells those who wait that the service is free.
import * as wf from '@temporalio/workflow';
import { askBusySignal, heldBySignal, serviceFreeSignal, type BusyAsk, type ServiceHolder } from '../contract/service-busy';

/** At most this many waiters are remembered: each is one signal when the service frees. */
const MAX_WAITERS = 200;

export async function serviceBusyWorkflow(service: string, holder: ServiceHolder): Promise<{ service: string; waitersTold: number }> {
  const toAnswer: BusyAsk[] = [];
  const waiters = new Map<string, BusyAsk>();
  wf.setHandler(askBusySignal, (ask) => {
    if (typeof ask?.workflowId !== 'string' || typeof ask.runId !== 'string') return;
    toAnswer.push(ask);
  });
  const tell = (ask: BusyAsk, send: (h: wf.ExternalWorkflowHandle) => Promise<void>) =>
    // a waiter that has gone meanwhile is no reason to fail
    send(wf.getExternalWorkflowHandle(ask.workflowId, ask.runId)).catch(() => undefined);
  const answerAll = async () => {
    while (toAnswer.length > 0) {
      const ask = toAnswer.shift()!;
      if (ask.wait && waiters.size < MAX_WAITERS) waiters.set(`${ask.workflowId}/${ask.runId}`, ask);
      await tell(ask, (h) => h.signal(heldBySignal, holder));
    }
  };
  try {
    for (;;) {
      await wf.condition(() => toAnswer.length > 0);
      await answerAll();
    }
  } catch (err) {
    if (!wf.isCancellation(err)) throw err;
  }
  // the holder closed: answer the last askers too, then free every waiter
  await wf.CancellationScope.nonCancellable(async () => {
    await answerAll();
    await Promise.all([...waiters.values()].map((w) => tell(w, (h) => h.signal(serviceFreeSignal, { service }))));
  });
  return { service, waitersTold: waiters.size };
}
