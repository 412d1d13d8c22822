/**
 * From embeddings to the distances the verification protocol thresholds, as insightface's test():
 * the embedding of an image and of its horizontal flip are summed, the sum is L2-normalised
 * (sklearn.preprocessing.normalize), and a pair's distance is the squared Euclidean distance of the two
 * normalised vectors (in [0, 4]; it equals 2 - 2 cos θ).
 */
import { GabnError } from '../base/errors.ts';

/** x / ‖x‖₂; a zero vector stays zero, as sklearn's normalize leaves it. */
export function l2Normalize(vector: Float32Array | Float64Array): Float64Array {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i]! * vector[i]!;
  const norm = Math.sqrt(sum);
  const out = new Float64Array(vector.length);
  const scale = norm === 0 ? 1 : norm;
  for (let i = 0; i < vector.length; i++) out[i] = vector[i]! / scale;
  return out;
}

/** Σ (a_i − b_i)². */
export function squaredDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new GabnError('internal', `embeddings of different sizes: ${a.length} and ${b.length}`);
  }
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    sum += d * d;
  }
  return sum;
}

/** Embeddings of one side of every pair, row-major (pairs × size), with optional flip embeddings. */
export interface PairSide {
  readonly embeddings: Float32Array | Float64Array;
  /** Embeddings of the horizontally flipped images, summed with `embeddings` before normalising. */
  readonly flipped?: Float32Array | Float64Array;
}

/** The distance of every pair: ‖n(e1 [+ flip1]) − n(e2 [+ flip2])‖² with n the L2 normalisation. */
export function pairDistances(first: PairSide, second: PairSide, embeddingSize: number): Float64Array {
  const sides = [first, second];
  for (const side of sides) {
    if (side.embeddings.length % embeddingSize !== 0) {
      throw new GabnError('internal', `${side.embeddings.length} values are not rows of ${embeddingSize}`);
    }
    if (side.flipped !== undefined && side.flipped.length !== side.embeddings.length) {
      throw new GabnError('internal', 'flip embeddings do not match the embeddings in size');
    }
  }
  if (first.embeddings.length !== second.embeddings.length) {
    throw new GabnError('internal', 'the two sides of the pairs hold different numbers of embeddings');
  }
  const pairs = first.embeddings.length / embeddingSize;
  const out = new Float64Array(pairs);
  const row = (side: PairSide, p: number): Float64Array => {
    const v = new Float64Array(embeddingSize);
    const off = p * embeddingSize;
    for (let i = 0; i < embeddingSize; i++) {
      v[i] = side.embeddings[off + i]! + (side.flipped === undefined ? 0 : side.flipped[off + i]!);
    }
    return l2Normalize(v);
  };
  for (let p = 0; p < pairs; p++) out[p] = squaredDistance(row(first, p), row(second, p));
  return out;
}
