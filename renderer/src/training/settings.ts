/**
 * The training form's settings: how each is labelled for people, grouped, read from what a person
 * typed (as `gabn train --set key=value` reads it: JSON when it parses, else the text), and set in a
 * configuration by its dotted path.
 */

/** Labels in the paper's and the user's words; the key itself is shown beside them. */
export const SETTING_LABELS: Readonly<Record<string, string>> = {
  seed: 'Seed (data order, flips, masks, initial weights)',
  'model.depth': 'iResNet depth',
  'model.width': 'Width multiplier',
  'model.inputSize': 'Input size (px)',
  'model.embeddingSize': 'Embedding size',
  'margin.kind': 'Margin softmax (Eq. 6)',
  'margin.s': 'Scale s',
  'margin.m': 'Margin m',
  epochs: 'Epochs',
  batchSize: 'Batch size',
  microBatchSize: 'Micro-batch (0: one pass)',
  sampling: 'Sampling',
  'optimizer.learningRate': 'Learning rate',
  'optimizer.momentum': 'Momentum',
  'optimizer.weightDecay': 'Weight decay',
  'optimizer.milestones': 'Milestones (epochs)',
  'optimizer.decay': 'Decay at milestones',
  'modules.gamCt': 'GAM-CT (Eq. 3-4)',
  'modules.sfre': 'GAM-SFRE',
  'modules.randomErase': 'Random erase',
  'modules.confidenceBalance': 'Confidence balance (Eq. 5)',
  objective: 'Objective (Eq. 7-8)',
  gamScale: 'GAM scale s (Eq. 1)',
  mechanismProbes: 'Probe images per group (mechanism figures; 0: none)',
  'erase.count': 'Masks N_mask',
  'erase.maxHeight': 'Mask height h_mask',
  'erase.maxWidth': 'Mask width w_mask',
  'erase.centres': 'Mask centres (GAM raw or smoothed)',
  'confidence.threshold': 'T_conf',
  'confidence.lambda': 'λ_conf',
  'adversarial.lambda': 'λ_adv',
  'discriminator.width': 'Discriminator width',
  'discriminator.learningRate': 'Discriminator learning rate',
  'discriminator.momentum': 'Discriminator momentum',
  'discriminator.weightDecay': 'Discriminator weight decay',
};

/** The form's sections, by the first part of a key (top-level keys go to 'run'). */
export const SECTIONS: readonly { readonly id: string; readonly title: string }[] = [
  { id: 'modules', title: 'GABN modules' },
  { id: 'run', title: 'Run' },
  { id: 'optimizer', title: 'Optimiser' },
  { id: 'model', title: 'Network' },
  { id: 'margin', title: 'Margin' },
  { id: 'erase', title: 'Erasure (GAM-SFRE, random erase)' },
  { id: 'confidence', title: 'Confidence balance' },
  { id: 'adversarial', title: 'GAM-CT' },
  { id: 'discriminator', title: 'Discriminator' },
];

export function sectionOf(key: string): string {
  return key.includes('.') ? key.split('.')[0]! : 'run';
}

/** What a person typed, as --set reads it: JSON when it parses (numbers, lists, booleans), else the text. */
export function parseSetting(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function getPath(value: unknown, key: string): unknown {
  let node = value;
  for (const part of key.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  return node;
}

/** A copy of `value` with the setting at `key` replaced. */
export function setPath<T>(value: T, key: string, setting: unknown): T {
  const [head, ...rest] = key.split('.');
  const object = { ...(value as Record<string, unknown>) };
  object[head!] = rest.length === 0 ? setting : setPath(object[head!] ?? {}, rest.join('.'), setting);
  return object as T;
}
