/**
 * The dataset model every loader produces: images with their identity and group (and landmarks when
 * known), and verification pairs with their fold. RFW, BUPT and the generic CSV formats all load into
 * this, so training, audits and the GUI never care which format a dataset came in.
 */
import { bareMessage, GabnError } from '../base/errors.ts';

/** Five points in the ArcFace template's order: left eye, right eye, nose, left and right mouth corners. */
export type Landmarks = readonly [
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
];

export interface FaceImage {
  /** Absolute path of the image file. */
  readonly path: string;
  /** Path relative to the dataset root, as shown to people. */
  readonly relative: string;
  readonly identity: string;
  readonly group: string;
  /** x1 y1 … x5 y5 in the image's pixel coordinates. */
  readonly landmarks?: Landmarks;
}

export interface FacePair {
  /** Indices into `images`. */
  readonly a: number;
  readonly b: number;
  readonly same: boolean;
  readonly group: string;
  /** 0-based fold. */
  readonly fold: number;
}

/** A problem found in a dataset: where, what, and what was expected. */
export interface DatasetProblem {
  readonly file: string;
  readonly line?: number;
  readonly message: string;
  readonly expected?: string;
  /** Warnings do not make a dataset unusable (e.g. a PNG file named .jpg). */
  readonly severity: 'error' | 'warning';
}

export type DatasetFormat = 'rfw' | 'bupt' | 'manifest-csv' | 'pairs-csv';

export interface Dataset {
  readonly format: DatasetFormat;
  readonly root: string;
  /** Group names, discovered from the data, in sorted order. */
  readonly groups: readonly string[];
  readonly images: readonly FaceImage[];
  readonly pairs: readonly FacePair[];
  /** Identities found under more than one group (RFW has a dozen). */
  readonly identitiesInSeveralGroups: readonly { identity: string; groups: string[] }[];
  readonly problems: readonly DatasetProblem[];
}

/**
 * Where loaders put problems. In strict mode (the default for training and audits) the first error
 * throws as a GabnError; in collecting mode (`gabn data check`) every problem is kept.
 */
export class ProblemLog {
  readonly problems: DatasetProblem[] = [];

  constructor(readonly collect: boolean) {}

  error(
    message: string,
    where: { file: string; line?: number; expected?: string },
    kind: 'malformed' | 'missing-file' | 'dataset' | 'corrupt-image' = 'malformed',
  ): void {
    if (!this.collect) throw new GabnError(kind, message, where);
    this.problems.push({ ...where, message, severity: 'error' });
  }

  /** Records a line parser's GabnError at the line it concerns; anything else is a bug and is rethrown. */
  parserError(error: unknown, file: string, line: number): void {
    if (!(error instanceof GabnError)) throw error;
    this.fileError(error, file, line);
  }

  /**
   * Records a GabnError about a dataset file under the name people see (`shown`, relative to the
   * dataset), at its own line unless `line` is given; anything that is not a GabnError is rethrown.
   */
  fileError(error: unknown, shown: string, line?: number): void {
    if (!(error instanceof GabnError)) throw error;
    const kind = error.kind === 'dataset' || error.kind === 'missing-file' ? error.kind : 'malformed';
    const at = line ?? error.line;
    this.error(
      bareMessage(error),
      {
        file: shown,
        ...(at === undefined ? {} : { line: at }),
        ...(error.expected ? { expected: error.expected } : {}),
      },
      kind,
    );
  }

  warning(message: string, where: { file: string; line?: number; expected?: string }): void {
    this.problems.push({ ...where, message, severity: 'warning' });
  }

  get errorCount(): number {
    return this.problems.filter((p) => p.severity === 'error').length;
  }
}

/** Identities that appear under several groups, from the images. */
export function identitiesInSeveralGroups(
  images: readonly FaceImage[],
): { identity: string; groups: string[] }[] {
  const groupsOf = new Map<string, Set<string>>();
  for (const image of images) {
    if (image.identity === '') continue;
    const set = groupsOf.get(image.identity) ?? new Set<string>();
    set.add(image.group);
    groupsOf.set(image.identity, set);
  }
  return [...groupsOf]
    .filter(([, groups]) => groups.size > 1)
    .map(([identity, groups]) => ({ identity, groups: [...groups].sort() }))
    .sort((a, b) => a.identity.localeCompare(b.identity));
}

export function formatProblem(p: DatasetProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}`;
  return `${where}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}${p.expected ? ` (expected ${p.expected})` : ''}`;
}
