/** The 'export-checkpoint' job: a run's checkpoint without training state (float16), as `gabn checkpoint export`. */
import type { ExportJobParams } from '../../api/contract.ts';
import { loadEngine } from '../../engine/index.ts';
import { exportCheckpoint } from '../../usecases/checkpoints/export-checkpoint.ts';
import type { JobContext } from '../protocol.ts';

export async function runExportCheckpointJob(
  params: ExportJobParams,
  context: JobContext,
): Promise<{ path: string; architecture: string; parameterCount: number }> {
  await loadEngine();
  const outcome = await exportCheckpoint(params);
  context.log(
    `wrote ${outcome.path}: ${outcome.json.architecture.name}, ${params.float16 ? 'float16' : 'float32'}${outcome.withHead ? ', with its head' : ''}`,
  );
  return {
    path: outcome.path,
    architecture: String(outcome.json.architecture.name),
    parameterCount: outcome.json.parameterCount,
  };
}
