/**
 * The paper's mechanism claims, measured on a network whatever its accuracy does (docs/training.md,
 * "The mechanism figures"): on a fixed probe set of training images (the GAM of Eq. 1-2 needs each
 * image's identity in the head), with the network in eval mode,
 *
 * - GAM-CT: the discriminator's accuracy on the probe GAMs, which it aims to bring down to 1/G;
 * - GAM-SFRE: each group's attention mass fraction, entropy and lattice share, the lowest group's mass
 *   fraction being the one it aims to raise (Fig. 1 b→c);
 * - consistency: the mean total variation distance between the groups' average GAMs, with an interval;
 * - confidence balance: each group's mean P_max (Eq. 5's confidence) and mean probability of the
 *   image's own identity (Fig. 3's), whose gap between groups the loss aims to narrow.
 *
 * It reads the weights and changes nothing, draws on no generator of the run (the probe set is chosen
 * by position, the intervals use generators of their own), so a resumed run measures what an
 * uninterrupted one does, and a checkpoint read back measures what its epoch recorded.
 */

import { GabnError } from '../../base/errors.ts';
import { createPrng } from '../../base/random.ts';
import { bootstrapMean, type MeanWithInterval } from '../../base/statistics.ts';
import type { Dataset } from '../../data/dataset.ts';
import { loadAlignedImage } from '../../data/image.ts';
import { tf } from '../../engine/tf.ts';
import { GroupAttentionAccumulator, pairwiseDistanceWithInterval } from '../../eval/attention-stats.ts';
import {
  DEFAULT_SCALE,
  gradientAttentionMapWithCosines,
  normaliseMaps,
  splitNormalised,
} from '../../gabn/gam.ts';
import { confidence } from '../../gabn/losses.ts';
import { DEFAULT_MECHANISM_PROBES } from '../../gabn/training-config.ts';
import type { AttributionModel } from '../../models/attribution-model.ts';
import { loadCheckpoint } from '../../models/checkpoint.ts';
import { type Discriminator, discriminatorForward } from '../../models/discriminator.ts';
import { iresnetEmbedder } from '../../models/embedder.ts';
import { type MarginOptions, marginLogits, scaledLogits } from '../../models/margin-head.ts';
import { disposeParams } from '../../models/parameters.ts';
import { type Estimate, toEstimate } from '../../report/report-model.ts';
import { evenlySpaced } from '../attention/attention-over-dataset.ts';
import type { GroupMechanisms, Mechanisms } from './records.ts';
import { log, type TrainingSession } from './session.ts';
import { loadTrainingSet, type TrainingSet } from './training-data.ts';
import { liveEmbedder } from './validation.ts';

/** Images per GAM pass (eval mode: the images do not interact, so this only bounds memory). */
const PROBE_BATCH = 16;
const RESAMPLES = 2000;
/** The intervals' generators: seeds of their own, never the run's. */
const SEED = 1;

/** The probe set: up to `perGroup` images of each group, spread evenly over its images (no draw). */
export function mechanismProbe(dataset: Dataset, perGroup = DEFAULT_MECHANISM_PROBES): number[] {
  return dataset.groups.flatMap((group) =>
    evenlySpaced(
      dataset.images.flatMap((image, i) => (image.group === group ? [i] : [])),
      perGroup,
    ),
  );
}

/** Aligned, normalised probe faces with each one's identity (the head's class) and group index. */
export interface ProbeImages {
  /** Images per group at most (a group with fewer images gives all it has). */
  readonly perGroup: number;
  readonly size: number;
  /** [N·size·size·3], image after image. */
  readonly pixels: Float32Array;
  readonly labels: Int32Array;
  readonly groups: Int32Array;
}

/** The network measured: eval-mode embedding with its identity head, and the discriminator if any. */
export interface MeasuredNetwork {
  /** Eval mode, with the head (the GAM of Eq. 1-2 needs it). */
  readonly model: AttributionModel;
  readonly discriminator?: Discriminator;
  readonly margin: MarginOptions;
  /** s of the GAM's softmax. */
  readonly gamScale: number;
  /** The network's total stride (the lattice share needs it). */
  readonly stride?: number;
  readonly groups: readonly string[];
}

interface BatchReading {
  readonly maps: Float32Array[];
  readonly pMax: Float32Array;
  /** The probability of each image's own identity. */
  readonly pTarget: Float32Array;
  /** The discriminator's predicted group of each image; null without one. */
  readonly predicted: Int32Array | null;
}

async function readBatch(
  network: MeasuredNetwork,
  probe: ProbeImages,
  from: number,
  to: number,
): Promise<BatchReading> {
  const { size } = probe;
  const pixels = size * size;
  const x = tf.tensor4d(probe.pixels.subarray(from * pixels * 3, to * pixels * 3), [
    to - from,
    size,
    size,
    3,
  ]);
  const labels = probe.labels.subarray(from, to);
  const head = network.model.head!;
  const out = tf.tidy(() => {
    const { map, cosines } = gradientAttentionMapWithCosines(network.model.embed, head, x, {
      scale: network.gamScale,
    });
    const labelTensor = tf.tensor1d(labels, 'int32');
    const pMax = confidence(marginLogits(cosines, labelTensor, network.margin));
    // The network's prediction, as at inference: softmax(s·cos θ) without the margin. (An int32
    // one-hot cast to float: wasm's OneHot writes integer bits into a float32 output.)
    const hot = tf.cast(tf.oneHot(labelTensor, cosines.shape[1]), 'float32');
    const pTarget = tf.sum(tf.mul(tf.softmax(scaledLogits(cosines, network.margin.s), -1), hot), 1);
    cosines.dispose();
    const d = network.discriminator;
    if (d === undefined) return { map, pMax, pTarget };
    // The discriminator sees what it is trained on: each map divided by its own maximum.
    return {
      map,
      pMax,
      pTarget,
      predicted: tf.argMax(discriminatorForward(d, normaliseMaps(map), { training: false }), 1),
    };
  });
  x.dispose();
  try {
    const { maps } = splitNormalised(await out.map.data(), to - from, pixels);
    return {
      maps,
      pMax: Float32Array.from(await out.pMax.data()),
      pTarget: Float32Array.from(await out.pTarget.data()),
      predicted: out.predicted ? Int32Array.from(await out.predicted.data()) : null,
    };
  } finally {
    tf.dispose(Object.values(out));
  }
}

function estimate(m: MeanWithInterval): Estimate {
  return toEstimate(m.mean, m.interval);
}

/** Every mechanism figure of `network` on the probe set (see the file's comment). */
export async function measureMechanisms(network: MeasuredNetwork, probe: ProbeImages): Promise<Mechanisms> {
  const { size } = probe;
  const count = probe.labels.length;
  const g = network.groups.length;
  const geometry =
    network.stride === undefined ? undefined : { height: size, width: size, stride: network.stride };
  const attention = network.groups.map(() => new GroupAttentionAccumulator(geometry));
  const maps: Float32Array[][] = network.groups.map(() => []);
  const confidences: number[][] = network.groups.map(() => []);
  const targets: number[][] = network.groups.map(() => []);
  const correct: number[] = [];
  for (let from = 0; from < count; from += PROBE_BATCH) {
    const to = Math.min(count, from + PROBE_BATCH);
    const reading = await readBatch(network, probe, from, to);
    for (let k = 0; k < to - from; k++) {
      const group = probe.groups[from + k]!;
      attention[group]!.add(reading.maps[k]!);
      maps[group]!.push(reading.maps[k]!);
      confidences[group]!.push(reading.pMax[k]!);
      targets[group]!.push(reading.pTarget[k]!);
      if (reading.predicted) correct.push(reading.predicted[k] === group ? 1 : 0);
    }
  }
  const groups: Record<string, GroupMechanisms> = {};
  network.groups.forEach((name, k) => {
    // Each group and figure its own generator: the same maps give the same intervals.
    const stats = attention[k]!.result({ seed: SEED + 5 * k, resamples: RESAMPLES });
    const mean = (values: number[], stream: number) =>
      estimate(bootstrapMean(values, createPrng(SEED + 5 * k + stream), RESAMPLES));
    groups[name] = {
      images: confidences[k]!.length,
      massFraction: estimate(stats.massFraction),
      entropy: estimate(stats.entropy),
      latticeShare: stats.lattice ? estimate(stats.lattice.share) : toEstimate(Number.NaN, null),
      confidence: mean(confidences[k]!, 3),
      targetProbability: mean(targets[k]!, 4),
    };
  });
  const distance = estimate(pairwiseDistanceWithInterval(maps, createPrng(SEED + 5 * g + 1), RESAMPLES));
  return {
    probesPerGroup: probe.perGroup,
    discriminatorAccuracy: network.discriminator
      ? estimate(bootstrapMean(correct, createPrng(SEED + 5 * g), RESAMPLES))
      : null,
    chance: 1 / g,
    gamDistance: distance.value,
    gamDistanceInterval: distance.value === null ? null : distance.interval,
    groups,
  };
}

/** The probe set of a training set, aligned at `size` (through the run's cache: no decode twice). */
export async function loadProbe(
  set: TrainingSet,
  size: number,
  load: (index: number) => Promise<Float32Array>,
  perGroup = DEFAULT_MECHANISM_PROBES,
): Promise<ProbeImages> {
  const chosen = mechanismProbe(set.dataset, perGroup);
  const pixels = new Float32Array(chosen.length * size * size * 3);
  for (const [k, index] of chosen.entries()) pixels.set(await load(index), k * size * size * 3);
  return {
    perGroup,
    size,
    pixels,
    labels: Int32Array.from(chosen, (i) => set.labels[i]!),
    groups: Int32Array.from(chosen, (i) => set.groupOf[i]!),
  };
}

/**
 * The mechanism figures of the network in training, as its epoch checkpoint holds it. A failure is
 * logged and gives none: it never stops the run.
 */
export async function measureRunMechanisms(
  session: TrainingSession,
  epoch: number,
): Promise<Mechanisms | undefined> {
  const { set, config, state } = session;
  if (config.mechanismProbes === 0) return undefined;
  try {
    const size = config.model.inputSize;
    const probe = await loadProbe(
      set,
      size,
      (i) => session.cache.get(set.dataset.images[i]!, size),
      config.mechanismProbes,
    );
    if (probe.labels.length === 0) return undefined;
    const embedder = liveEmbedder(state.train, set, config);
    return await measureMechanisms(
      {
        model: embedder.model,
        ...(state.train.discriminator ? { discriminator: state.train.discriminator } : {}),
        margin: config.margin,
        gamScale: config.gamScale,
        ...(embedder.stride === undefined ? {} : { stride: embedder.stride }),
        groups: set.dataset.groups,
      },
      probe,
    );
  } catch (error) {
    log(
      session,
      `the mechanism figures of epoch ${epoch} could not be measured: ${(error as Error).message}`,
    );
    return undefined;
  }
}

/**
 * The mechanism figures of a saved checkpoint of a run, after the fact: its network, head and
 * discriminator on the probe set of the training set `data` it was trained on (the same identities).
 * For an epoch checkpoint they are the figures its epoch recorded: by default it measures on as many
 * probe images per group as its run did.
 */
export async function measureCheckpointMechanisms(
  dir: string,
  data: string,
  probesPerGroup?: number,
): Promise<Mechanisms> {
  const set = loadTrainingSet(data);
  const checkpoint = await loadCheckpoint(dir);
  try {
    if (!checkpoint.head || !checkpoint.margin || checkpoint.classCount !== set.identities) {
      throw new GabnError(
        'usage',
        `${dir} has no identity head for the ${set.identities} identities of ${data}`,
        {
          file: dir,
          expected: 'a checkpoint trained on this training set, with its head (the GAM needs it)',
        },
      );
    }
    const embedder = iresnetEmbedder({
      net: checkpoint.model,
      head: checkpoint.head,
      groups: checkpoint.groups,
      classCount: checkpoint.classCount,
      json: null,
      dispose: () => {},
    });
    const size = embedder.inputSize;
    const config = checkpoint.provenance?.config as
      | { gamScale?: unknown; mechanismProbes?: unknown }
      | undefined;
    // By default the probe set its run measured on (a run that measured none: the default's).
    const recorded = config?.mechanismProbes;
    const perGroup =
      probesPerGroup ?? (typeof recorded === 'number' && recorded > 0 ? recorded : DEFAULT_MECHANISM_PROBES);
    const probe = await loadProbe(set, size, (i) => loadAlignedImage(set.dataset.images[i]!, size), perGroup);
    return await measureMechanisms(
      {
        model: embedder.model,
        ...(checkpoint.discriminator ? { discriminator: checkpoint.discriminator } : {}),
        margin: checkpoint.margin,
        gamScale: typeof config?.gamScale === 'number' ? config.gamScale : DEFAULT_SCALE,
        ...(embedder.stride === undefined ? {} : { stride: embedder.stride }),
        groups: set.dataset.groups,
      },
      probe,
    );
  } finally {
    disposeParams(checkpoint.model.params);
    if (checkpoint.head) disposeParams(checkpoint.head.params);
    if (checkpoint.discriminator) disposeParams(checkpoint.discriminator.params);
    for (const t of Object.values(checkpoint.optimizer?.tensors ?? {})) t.dispose();
  }
}

/** What a person scans for: the lowest group's mass fraction (GAM-SFRE's target) and the confidence gap. */
export interface MechanismSummary {
  readonly lowest: { readonly group: string; readonly massFraction: Estimate } | null;
  /** The highest group's mean P_max minus the lowest's (Fig. 3's gap). */
  readonly confidenceGap: number | null;
}

export function mechanismSummary(m: Mechanisms): MechanismSummary {
  let lowest: MechanismSummary['lowest'] = null;
  const confidences: number[] = [];
  for (const [group, g] of Object.entries(m.groups)) {
    const v = g.massFraction.value;
    if (v !== null && (lowest === null || v < lowest.massFraction.value!))
      lowest = { group, massFraction: g.massFraction };
    if (g.confidence.value !== null) confidences.push(g.confidence.value);
  }
  const confidenceGap = confidences.length > 0 ? Math.max(...confidences) - Math.min(...confidences) : null;
  return { lowest, confidenceGap };
}

/** The GAM distance with its interval (none in records written before it was measured). */
export function gamDistanceEstimate(m: Mechanisms): Estimate {
  return { value: m.gamDistance, interval: m.gamDistance === null ? null : (m.gamDistanceInterval ?? null) };
}

/** One line of log.txt and of `gabn ablate`'s table. */
export function describeMechanisms(m: Mechanisms): string {
  const f = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : v.toFixed(3));
  const { lowest, confidenceGap } = mechanismSummary(m);
  const d = m.discriminatorAccuracy
    ? `discriminator accuracy ${f(m.discriminatorAccuracy.value)} (chance ${f(m.chance)})`
    : 'no discriminator';
  const mass = lowest
    ? `lowest mass fraction ${f(lowest.massFraction.value)} (${lowest.group})`
    : 'no mass fraction';
  const interval = m.gamDistanceInterval;
  const distance = interval
    ? `${f(m.gamDistance)} [${f(interval.lower)}, ${f(interval.upper)}]`
    : f(m.gamDistance);
  return `${d}; ${mass}; GAM distance ${distance}; confidence gap ${f(confidenceGap)}`;
}
