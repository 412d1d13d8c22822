/**
 * Named configurations (how big and how long) and presets (which GABN modules), as data. A run's
 * configuration is: named configuration, then the preset's modules, then a config file, then --set
 * overrides, validated once at the end.
 *
 * The paper does not give N_mask, h_mask or w_mask; the erasure defaults below are this project's
 * choice for 112x112 faces (three rectangles up to 16x16 pixels, about 6% of the face at most), scaled
 * with the input size in the smaller configurations.
 */
import { readFileSync } from 'node:fs';
import { GabnError } from '../base/errors.ts';
import {
  DEFAULT_MECHANISM_PROBES,
  mergeConfig,
  parseOverride,
  type TrainingConfig,
  validateConfig,
} from './training-config.ts';

/** The paper's setting (§4.1): ArcFace ResNet-34, SGD 0.9 / 5e-4, lr 0.1 ÷10 at epochs 9, 15, 20, 30 epochs, batch 200. */
const PAPER: TrainingConfig = {
  seed: 1,
  model: { depth: 34, width: 1, inputSize: 112, embeddingSize: 512 },
  margin: { kind: 'arcface', s: 64, m: 0.35 },
  epochs: 30,
  batchSize: 200,
  microBatchSize: 0,
  sampling: 'natural',
  optimizer: { learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4, milestones: [9, 15, 20], decay: 0.1 },
  modules: { gamCt: false, sfre: false, randomErase: false, confidenceBalance: false },
  objective: 'decoupled',
  gamScale: 64,
  mechanismProbes: DEFAULT_MECHANISM_PROBES,
  erase: { count: 3, maxHeight: 16, maxWidth: 16, centres: 'raw' },
  confidence: { threshold: 0.7, lambda: 1 },
  adversarial: { lambda: 1 },
  // "the discriminator the same": ResNet-18 with the face network's optimiser settings.
  discriminator: { width: 1, learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 },
};

export const NAMED_CONFIGS: Readonly<Record<string, TrainingConfig>> = {
  paper: PAPER,
  /** A CPU-sized network that still learns faces in tens of minutes. */
  small: mergeConfig(PAPER, {
    model: { depth: 18, width: 0.5, inputSize: 56, embeddingSize: 256 },
    epochs: 12,
    batchSize: 64,
    optimizer: { milestones: [6, 9, 11] },
    erase: { count: 3, maxHeight: 8, maxWidth: 8 },
    discriminator: { width: 0.25 },
  }),
  /** Minutes on a CPU: for trying the tool and for tests. */
  tiny: mergeConfig(PAPER, {
    model: { depth: 18, width: 0.25, inputSize: 56, embeddingSize: 128 },
    epochs: 2,
    batchSize: 16,
    microBatchSize: 0,
    optimizer: { milestones: [1] },
    erase: { count: 2, maxHeight: 8, maxWidth: 8 },
    discriminator: { width: 0.125 },
  }),
};

type Modules = TrainingConfig['modules'];
const NONE: Modules = { gamCt: false, sfre: false, randomErase: false, confidenceBalance: false };

export interface Preset {
  readonly description: string;
  readonly modules: Modules;
  /** Further settings, e.g. a fine-tune's lower learning rate. */
  readonly settings?: Record<string, unknown>;
  /** Whether the preset starts from an existing checkpoint (--from). */
  readonly needsCheckpoint?: boolean;
}

/** The rows of the paper's Table 4, and a fine-tune. */
export const PRESETS: Readonly<Record<string, Preset>> = {
  baseline: { description: 'ArcFace alone (Table 4: Baseline)', modules: NONE },
  'random-erase': {
    description: 'ArcFace + random erase (Table 4: + Random Erase)',
    modules: { ...NONE, randomErase: true },
  },
  confidence: {
    description: 'ArcFace + confidence balance loss, T_conf 0.7 (Table 4: + confidence balance loss)',
    modules: { ...NONE, confidenceBalance: true },
  },
  'gam-ct': { description: 'GAM consistency training (Table 4: GAM-CT)', modules: { ...NONE, gamCt: true } },
  'gam-sfre': {
    description: 'GAM-guided sensitive region erasure (Table 4: GAM-SFRE)',
    modules: { ...NONE, sfre: true },
  },
  gabn: {
    description: 'GAM-CT + GAM-SFRE + confidence balance (Table 4: GABN)',
    modules: { gamCt: true, sfre: true, randomErase: false, confidenceBalance: true },
  },
  'fine-tune': {
    description: 'GABN fine-tuning of an existing checkpoint at a tenth of the learning rate',
    modules: { gamCt: true, sfre: true, randomErase: false, confidenceBalance: true },
    settings: { optimizer: { learningRate: 0.01 }, discriminator: { learningRate: 0.01 } },
    needsCheckpoint: true,
  },
  'gam-sfre-smoothed': {
    description:
      "GAM-SFRE with its mask centres ranked on the GAM smoothed over the network's stride (beyond the paper)",
    modules: { ...NONE, sfre: true },
    settings: { erase: { centres: 'smoothed' } },
  },
};

/** What a preset sets over a configuration: its modules, and its further settings. */
function presetSettings(preset: Preset): Record<string, unknown> {
  return { modules: preset.modules, ...(preset.settings ?? {}) };
}

/**
 * A configuration a person chose, with `preset`'s modules and settings laid over it (a Table 4 row
 * of an ablation started from the app's form), checked.
 */
export function withPreset(config: TrainingConfig, presetName: string, source: string): TrainingConfig {
  const preset = PRESETS[presetName];
  if (preset === undefined) {
    throw new GabnError('usage', `unknown preset '${presetName}'`, {
      expected: `one of ${knownNames(PRESETS)}`,
    });
  }
  return validateConfig(mergeConfig(config, presetSettings(preset)), `${source} with preset '${presetName}'`);
}

/** The rows of the paper's Table 4: the presets an ablation trains. */
export const TABLE4_PRESETS = [
  'baseline',
  'random-erase',
  'confidence',
  'gam-ct',
  'gam-sfre',
  'gabn',
] as const;

export interface ConfigRequest {
  readonly preset: string;
  /** A name from NAMED_CONFIGS or a path to a JSON file (a complete or partial configuration). */
  readonly config?: string;
  /** `key=value` assignments from --set. */
  readonly overrides?: readonly string[];
}

function knownNames(record: Readonly<Record<string, unknown>>): string {
  return Object.keys(record).join(', ');
}

export function resolveTrainingConfig(request: ConfigRequest): TrainingConfig {
  const preset = PRESETS[request.preset];
  if (preset === undefined) {
    throw new GabnError('usage', `unknown preset '${request.preset}'`, {
      expected: `one of ${knownNames(PRESETS)}`,
    });
  }
  const name = request.config ?? 'paper';
  let config: unknown;
  let source: string;
  if (NAMED_CONFIGS[name] !== undefined) {
    config = NAMED_CONFIGS[name];
    source = `the '${name}' configuration`;
  } else if (/[./\\]/.test(name)) {
    let text: string;
    try {
      text = readFileSync(name, 'utf8');
    } catch {
      throw new GabnError('missing-file', 'cannot read the configuration file', { file: name });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new GabnError('malformed', `not valid JSON: ${(error as Error).message}`, {
        file: name,
        expected: 'a JSON object',
      });
    }
    // A file may be partial: it is laid over the paper's setting, so unknown keys still fail below.
    config = mergeConfig(PAPER, parsed);
    source = name;
  } else {
    throw new GabnError('usage', `unknown configuration '${name}'`, {
      expected: `one of ${knownNames(NAMED_CONFIGS)}, or a path to a JSON file`,
    });
  }
  config = mergeConfig(config, presetSettings(preset));
  for (const assignment of request.overrides ?? []) config = mergeConfig(config, parseOverride(assignment));
  return validateConfig(
    config,
    `${source} with preset '${request.preset}'${request.overrides?.length ? ' and --set' : ''}`,
  );
}
