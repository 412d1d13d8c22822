/**
 * The one TensorFlow.js namespace the project computes with. Importing '@tensorflow/tfjs' (not only
 * tfjs-core) matters: in Node, tfjs-core's bundle registers no gradient functions, the union package
 * registers them all. The cpu backend is always registered as the last rung of the ladder.
 */
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

export { tf };
export type Tensor = tf.Tensor;
export type Rank = tf.Rank;
