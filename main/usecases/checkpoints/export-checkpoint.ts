/**
 * A checkpoint for people who audit rather than train: the face network and its identity head (the
 * GAM needs the head), without the discriminator and optimiser state a run keeps for resuming,
 * optionally in float16, with the source's provenance and a note of where it came from. This is how
 * a run's checkpoint becomes a shippable one (`gabn checkpoint export`, the Runs view's Export).
 */
import path from 'node:path';
import { loadCheckpoint, saveCheckpoint } from '../../models/checkpoint.ts';
import type { CheckpointJson, JsonObject } from '../../models/checkpoint-schema.ts';
import { disposeParams } from '../../models/parameters.ts';

export interface ExportRequest {
  readonly source: string;
  /** The new checkpoint (<name>.gabn), written atomically. */
  readonly out: string;
  readonly float16: boolean;
}

export interface ExportOutcome {
  readonly path: string;
  readonly json: CheckpointJson;
  readonly withHead: boolean;
}

export async function exportCheckpoint(request: ExportRequest): Promise<ExportOutcome> {
  const source = path.resolve(request.source);
  const checkpoint = await loadCheckpoint(source);
  try {
    const provenance = checkpoint.provenance as {
      data?: JsonObject;
      config?: JsonObject;
      metrics?: JsonObject;
    };
    const json = await saveCheckpoint(
      request.out,
      {
        model: checkpoint.model,
        groups: checkpoint.groups,
        classCount: checkpoint.classCount,
        ...(checkpoint.head ? { head: checkpoint.head } : {}),
        ...(checkpoint.margin ? { margin: checkpoint.margin } : {}),
        provenance: {
          data: { ...(provenance.data ?? {}), exportedFrom: source },
          config: provenance.config ?? {},
          metrics: provenance.metrics ?? {},
        },
      },
      { storage: request.float16 ? 'float16' : 'float32' },
    );
    return { path: path.resolve(request.out), json, withHead: checkpoint.head !== undefined };
  } finally {
    disposeParams(checkpoint.model.params);
    if (checkpoint.head) disposeParams(checkpoint.head.params);
    if (checkpoint.discriminator) disposeParams(checkpoint.discriminator.params);
    for (const t of Object.values(checkpoint.optimizer?.tensors ?? {})) t.dispose();
  }
}
