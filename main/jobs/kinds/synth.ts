/** The 'synth' job: `gabn synth` in a worker, with progress. */
import type { SynthJobParams } from '../../api/contract.ts';
import { DEFAULT_SYNTH, generateSyntheticDataset } from '../../data/synth/generate.ts';
import type { JobContext } from '../protocol.ts';

export interface SynthJobResult {
  readonly directory: string;
  readonly images: number;
}

export async function runSynthJob(params: SynthJobParams, context: JobContext): Promise<SynthJobResult> {
  const options = {
    ...DEFAULT_SYNTH,
    ...(params.seed === undefined ? {} : { seed: params.seed }),
    ...(params.ids === undefined ? {} : { ids: params.ids }),
    ...(params.images === undefined ? {} : { images: params.images }),
    ...(params.trainIds === undefined ? {} : { trainIds: params.trainIds }),
    ...(params.size === undefined ? {} : { size: params.size }),
  };
  context.log(
    `synthetic faces into ${params.out}: seed ${options.seed}, ${options.ids} identities per group`,
  );
  const written = await generateSyntheticDataset(params.out, options, {
    signal: context.signal,
    onProgress: (p) => context.progress(p.done, p.total, 'rendering faces'),
  });
  context.log(`${written.images} images written`);
  return written;
}
