/**
 * A run's best validation so far: the highest average accuracy, the lowest STD and the lowest SER
 * over its epochs, each with the epoch that reached it (they need not be the same epoch).
 */
import type { EpochRecord } from '../../../main/api/contract.ts';

export interface Best {
  readonly value: number;
  readonly epoch: number;
}

export interface BestValidation {
  readonly average?: Best;
  readonly std?: Best;
  readonly ser?: Best;
}

export function bestValidation(epochs: readonly EpochRecord[]): BestValidation {
  const pick = (
    figure: 'average' | 'std' | 'ser',
    better: (a: number, b: number) => boolean,
  ): Best | undefined => {
    let best: Best | undefined;
    for (const e of epochs) {
      const value = e.validation?.[figure];
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      if (best === undefined || better(value, best.value)) best = { value, epoch: e.epoch };
    }
    return best;
  };
  const average = pick('average', (a, b) => a > b);
  const std = pick('std', (a, b) => a < b);
  const ser = pick('ser', (a, b) => a < b);
  return { ...(average ? { average } : {}), ...(std ? { std } : {}), ...(ser ? { ser } : {}) };
}
