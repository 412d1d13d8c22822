/**
 * How long an audit's bootstrap will take, measured before it starts: a few resamples of the audit
 * itself are timed (with a generator of their own, so the intervals do not change) and scaled to the
 * resamples asked for. A person who asked for 10^6 resamples of a large set hears that it takes
 * hours before it starts, not after.
 */
import { formatDuration } from '../../base/durations.ts';
import { createPrng } from '../../base/random.ts';
import { computeFigures, type PreparedAudit } from '../../eval/audit-figures.ts';
import { DEFAULT_RESAMPLES, drawResample, resamplingStrata } from '../../eval/bootstrap.ts';

/** Estimates longer than this are announced. */
export const LONG_BOOTSTRAP_SECONDS = 300;

/**
 * Seconds one resample of `audit` takes: after two untimed ones (the first runs are compiled as they
 * go, and would count several times over), the mean of at least `samples`, over at least 200 ms.
 */
export function secondsPerResample(audit: PreparedAudit, samples = 3): number {
  const strata = resamplingStrata(audit);
  const weights = new Uint32Array(audit.pairCount);
  const random = createPrng(0x5eed);
  const once = () => {
    drawResample(strata, random, weights);
    computeFigures(audit, weights);
  };
  once();
  once();
  const start = performance.now();
  let done = 0;
  while (done < samples || (performance.now() - start < 200 && done < 1000)) {
    once();
    done++;
  }
  return (performance.now() - start) / 1000 / done;
}

export interface BootstrapEstimate {
  readonly seconds: number;
  /** What a person reads: the estimate, and how long the default would take. */
  readonly message: string;
}

/**
 * The estimate for `resamples` resamples, each evaluating `evaluations` audits (the bootstraps of
 * each source, two for each paired resample); undefined when it is short.
 */
export function longBootstrapEstimate(
  audit: PreparedAudit,
  resamples: number,
  evaluations: number,
): BootstrapEstimate | undefined {
  if (resamples === 0 || evaluations === 0) return undefined;
  const each = secondsPerResample(audit) * evaluations;
  const seconds = each * resamples;
  if (seconds < LONG_BOOTSTRAP_SECONDS) return undefined;
  const usual =
    resamples > DEFAULT_RESAMPLES
      ? `; --bootstrap ${DEFAULT_RESAMPLES} (the default) would take about ${formatDuration(each * DEFAULT_RESAMPLES)}`
      : '';
  return {
    seconds,
    message: `the bootstrap's ${resamples.toLocaleString('en-US')} resamples will take about ${formatDuration(seconds)} (${(each * 1000).toFixed(1)} ms each, as timed on this audit); its progress shows, and it can be cancelled${usual}`,
  };
}
