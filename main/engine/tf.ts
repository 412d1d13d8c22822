/**
 * The one TensorFlow.js namespace the project computes with. Importing '@tensorflow/tfjs' (not only
 * tfjs-core) matters: in Node, tfjs-core's bundle registers no gradient functions, the union package
 * registers them all. The cpu backend is always registered as the last rung of the ladder.
 */
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

// Production mode: no debug checks, and no console banner suggesting tfjs-node on every start (the
// backend ladder already says which backend runs and why; see `gabn doctor`).
tf.env().set('PROD', true);

export { tf };
export type Tensor = tf.Tensor;
export type Rank = tf.Rank;
