import { beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import {
  adversarialLoss,
  confidence,
  confidenceBalanceLoss,
  discriminatorLoss,
  finalLoss,
  identityLoss,
  shiftedMarginLogits,
} from '../../../main/gabn/losses.ts';
import { PAPER_MARGIN } from '../../../main/models/margin-head.ts';

const COS = [
  [0.62, 0.1, -0.2, 0.05],
  [0.0, 0.48, 0.3, -0.4],
  [0.15, -0.1, 0.2, 0.7],
];
const LABELS = [0, 1, 3];

/** float64 cross entropy of one row of logits against a label. */
function crossEntropy(logits: number[], label: number): number {
  const max = Math.max(...logits);
  const logSum = Math.log(logits.reduce((a, z) => a + Math.exp(z - max), 0)) + max;
  return logSum - logits[label]!;
}

/** float64 Eq. 8 logits for one row. */
function shiftedRow(row: number[], label: number, s: number, m: number, k: number): number[] {
  return row.map((c, j) => {
    const theta = Math.acos(c);
    if (j === label) {
      return c > Math.cos(Math.PI - m) ? s * Math.cos(theta + m) : s * (c - Math.sin(Math.PI - m) * m);
    }
    return s * Math.cos(theta + k);
  });
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`GABN losses on ${backend}`, () => {
    beforeAll(async () => {
      await loadEngine({ backend });
    });
    describe('Eq. 3 and Eq. 4: discriminator and adversarial losses', () => {
      it('Eq. 3 is the cross entropy of the group logits', () => {
        const logits = [
          [2, 0.5, -1, 0],
          [0.1, 0.2, 0.3, 0.4],
        ];
        const value = discriminatorLoss(tf.tensor2d(logits), tf.tensor1d([0, 3], 'int32')).dataSync()[0]!;
        expect(value).toBeCloseTo((crossEntropy(logits[0]!, 0) + crossEntropy(logits[1]!, 3)) / 2, 5);
      });
      it('Eq. 4 is log G with a zero gradient when the discriminator is undecided', () => {
        const logits = tf.zeros([3, 4]) as tf.Tensor2D;
        expect(adversarialLoss(logits).dataSync()[0]).toBeCloseTo(Math.log(4), 6);
        const grad = tf.grad((z: tf.Tensor) => adversarialLoss(z as tf.Tensor2D))(logits);
        expect(Math.max(...Array.from(grad.dataSync()).map(Math.abs))).toBeLessThan(1e-7);
      });
      it('Eq. 4 grows as the discriminator becomes sure of any group', () => {
        const sure = adversarialLoss(tf.tensor2d([[5, 0, 0, 0]])).dataSync()[0]!;
        const expected = -(1 / 4) * [5, 0, 0, 0].reduce((a, z) => a + z - Math.log(Math.exp(5) + 3), 0);
        expect(sure).toBeCloseTo(expected, 5);
        expect(sure).toBeGreaterThan(Math.log(4));
      });
    });

    describe('Eq. 5: confidence balance', () => {
      it('is the fraction of samples whose P_max reaches T_conf', () => {
        expect(confidenceBalanceLoss([0.9, 0.7, 0.69, 0.2], 0.7)).toBe(0.5);
        expect(confidenceBalanceLoss(Float32Array.from([0.1, 0.2]), 0.7)).toBe(0);
      });
      it('P_max comes from the margin logits', () => {
        const p = confidence(tf.tensor2d([[0, Math.log(3)]])).dataSync()[0]!;
        expect(p).toBeCloseTo(0.75, 6);
      });
    });

    describe('Eq. 6 and Eq. 8', () => {
      const { s, m } = PAPER_MARGIN;
      it('Eq. 6 matches a float64 ArcFace cross entropy', () => {
        const value = identityLoss(
          tf.tensor2d(COS),
          tf.tensor1d(LABELS, 'int32'),
          PAPER_MARGIN,
        ).dataSync()[0]!;
        const expected =
          COS.reduce((a, row, i) => a + crossEntropy(shiftedRow(row, LABELS[i]!, s, m, 0), LABELS[i]!), 0) /
          3;
        expect(value).toBeCloseTo(expected, 3);
      });
      it('Eq. 8 shifts every non-target angle by K', () => {
        const k = 0.4;
        const logits = shiftedMarginLogits(
          tf.tensor2d(COS),
          tf.tensor1d(LABELS, 'int32'),
          PAPER_MARGIN,
          tf.scalar(k),
        );
        const got = logits.arraySync();
        COS.forEach((row, i) => {
          shiftedRow(row, LABELS[i]!, s, m, k).forEach((z, j) => {
            expect(got[i]![j]!).toBeCloseTo(z, 3);
          });
        });
      });
      it('read literally, dL_final/dK < 0: descending Eq. 8 raises K, and with it L_adv', () => {
        const cos = tf.tensor2d(COS);
        const labels = tf.tensor1d(LABELS, 'int32');
        for (const k of [0.05, 0.5, 1.2]) {
          const dLdK = tf
            .grad((kk: tf.Tensor) => {
              const logits = shiftedMarginLogits(cos, labels, PAPER_MARGIN, kk as tf.Scalar);
              return tf.neg(
                tf.mean(
                  tf.sum(tf.mul(tf.oneHot(labels, 4), tf.sub(logits, tf.logSumExp(logits, 1, true))), 1),
                ),
              );
            })(tf.scalar(k))
            .dataSync()[0]!;
          expect(dLdK).toBeLessThan(0);
        }
      });
      const base = {
        cos: tf.tensor2d(COS) as tf.Tensor2D,
        labels: tf.tensor1d(LABELS, 'int32') as tf.Tensor1D,
        margin: PAPER_MARGIN,
        confidenceLoss: 0.25,
        groups: 4,
        lambdaConfidence: 1,
        lambdaAdversarial: 1,
      };
      it('the paper objective sends a negative gradient to L_adv, the decoupled one exactly λ_adv', () => {
        // K = L_conf + L_adv ≥ log G, and the sign argument holds while θ_j + K < π: two groups, cosines
        // above -0.1 and s = 16 keep every non-target angle there and the softmax away from underflow.
        const twoGroups = {
          ...base,
          cos: tf.tensor2d([
            [0.62, 0.1, -0.05, 0.05],
            [0.0, 0.48, 0.3, -0.08],
          ]) as tf.Tensor2D,
          labels: tf.tensor1d([0, 1], 'int32') as tf.Tensor1D,
          margin: { ...PAPER_MARGIN, s: 16 },
          groups: 2,
          confidenceLoss: 0.1,
        };
        const gradient = (objective: 'paper' | 'decoupled', lambdaAdversarial: number) =>
          tf
            .grad((adv: tf.Tensor) =>
              finalLoss({ ...twoGroups, lambdaAdversarial, objective, adversarial: adv as tf.Scalar }),
            )(tf.scalar(Math.log(2) + 0.1))
            .dataSync()[0]!;
        // float64 reference: central difference of Eq. 8 in K = L_conf + L_adv.
        const rows = twoGroups.cos.arraySync();
        const loss = (k: number) =>
          rows.reduce((a, row, i) => a + crossEntropy(shiftedRow(row, i, 16, PAPER_MARGIN.m, k), i), 0) /
          rows.length;
        const k0 = 0.1 + Math.log(2) + 0.1;
        const reference = (loss(k0 + 1e-5) - loss(k0 - 1e-5)) / 2e-5;
        expect(reference).toBeLessThan(0);
        expect(gradient('paper', 1)).toBeLessThan(0);
        expect(Math.abs(gradient('paper', 1) - reference)).toBeLessThan(0.02 * Math.abs(reference));
        expect(gradient('decoupled', 1)).toBeCloseTo(1, 6);
        expect(gradient('decoupled', 0.3)).toBeCloseTo(0.3, 6);
      });
      it('the decoupled objective adds λ_adv (L_adv − log G) to the shifted margin softmax', () => {
        const adversarial = Math.log(4) + 0.2;
        const value = finalLoss({
          ...base,
          objective: 'decoupled',
          adversarial: tf.scalar(adversarial),
        }).dataSync()[0]!;
        const identity =
          COS.reduce(
            (a, row, i) => a + crossEntropy(shiftedRow(row, LABELS[i]!, s, m, 0.25), LABELS[i]!),
            0,
          ) / 3;
        expect(value).toBeCloseTo(identity + 0.2, 3);
      });
      it('the paper objective is the margin softmax shifted by K = L_conf + L_adv', () => {
        const adversarial = 0.3;
        const value = finalLoss({
          ...base,
          objective: 'paper',
          adversarial: tf.scalar(adversarial),
        }).dataSync()[0]!;
        const k = 0.25 + adversarial;
        const expected =
          COS.reduce((a, row, i) => a + crossEntropy(shiftedRow(row, LABELS[i]!, s, m, k), LABELS[i]!), 0) /
          3;
        expect(value).toBeCloseTo(expected, 3);
      });
      it('refuses an adversarial loss with fewer than two groups', () => {
        expect(() =>
          finalLoss({ ...base, groups: 1, objective: 'decoupled', adversarial: tf.scalar(0) }),
        ).toThrow(/at least 2 groups/);
      });
    });
  });
}
