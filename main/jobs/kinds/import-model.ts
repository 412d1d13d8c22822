/** The 'import-model' job: a model file opened in the app, imported into the workspace with progress. */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { ImportModelResult, JobParams } from '../../api/contract.ts';
import { importModel } from '../../usecases/import/import-model.ts';
import type { JobContext } from '../protocol.ts';

export async function runImportModelJob(
  params: JobParams['import-model'],
  context: JobContext,
): Promise<ImportModelResult> {
  await mkdir(path.dirname(params.out), { recursive: true });
  context.log(`importing ${params.source} (${params.format}) into ${params.out}`);
  const outcome = await importModel(
    {
      format: params.format,
      source: params.source,
      out: params.out,
      ...(params.depth === undefined ? {} : { depth: params.depth }),
      ...(params.force === undefined ? {} : { force: params.force }),
    },
    { signal: context.signal, onProgress: (done, total, message) => context.progress(done, total, message) },
  );
  for (const note of outcome.notes) context.log(note);
  return {
    out: outcome.out,
    format: outcome.format,
    architecture: outcome.architecture,
    trainable: outcome.trainable,
    notes: outcome.notes,
  };
}
