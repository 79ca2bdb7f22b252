// The workflow bundle's entry: every workflow the worker registers.
export { releaseWorkflow } from './release';
export { scheduledReleaseWorkflow } from './scheduled';
export { liveCheckWorkflow } from './live-check';
export { releaseTrainWorkflow } from './train';
export { serviceBusyWorkflow } from './service-busy';
