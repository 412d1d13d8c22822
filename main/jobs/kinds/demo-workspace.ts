/** The 'demo-workspace' job: the app's first start prepares its demo workspace in a worker, with progress. */
import type { DemoWorkspaceJobParams } from '../../api/contract.ts';
import { type DemoLayout, prepareDemoWorkspace } from '../../usecases/workspace/demo-workspace.ts';
import type { JobContext } from '../protocol.ts';

export async function runDemoWorkspaceJob(
  params: DemoWorkspaceJobParams,
  context: JobContext,
): Promise<DemoLayout> {
  return prepareDemoWorkspace(params.workspace, {
    signal: context.signal,
    onProgress: (p) => context.progress(p.done, p.total, p.message),
    log: context.log,
  });
}
