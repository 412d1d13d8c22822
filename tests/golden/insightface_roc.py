"""Reference for main/eval/verification.ts: insightface's calculate_roc / calculate_accuracy
(recognition/arcface_torch/eval/verification.py) on precomputed distances, in numpy only.

Reads JSON from stdin: {"cases": [{"distances": [...], "same": [0/1...], "folds": [...] | null}]}
and writes JSON to stdout: per case the thresholds, per-fold best threshold index, threshold and
accuracy, the mean accuracy, and the fold-averaged TPR/FPR. Floats are written with repr() so that
the comparison on the TypeScript side can be exact.

The fold split is sklearn's KFold(n_splits=10, shuffle=False), written out here so that sklearn is
not needed: contiguous blocks, the first n % 10 of them one sample larger.
"""

import json
import sys

import numpy as np


def kfold_split(n, n_splits=10):
    """sklearn.model_selection.KFold(n_splits, shuffle=False).split(np.arange(n))."""
    indices = np.arange(n)
    fold_sizes = np.full(n_splits, n // n_splits, dtype=int)
    fold_sizes[: n % n_splits] += 1
    current = 0
    for fold_size in fold_sizes:
        start, stop = current, current + fold_size
        test = indices[start:stop]
        train = np.concatenate([indices[:start], indices[stop:]])
        yield train, test
        current = stop


def explicit_split(folds):
    folds = np.asarray(folds)
    indices = np.arange(len(folds))
    for k in range(int(folds.max()) + 1):
        yield indices[folds != k], indices[folds == k]


def calculate_accuracy(threshold, dist, actual_issame):
    predict_issame = np.less(dist, threshold)
    tp = np.sum(np.logical_and(predict_issame, actual_issame))
    fp = np.sum(np.logical_and(predict_issame, np.logical_not(actual_issame)))
    tn = np.sum(np.logical_and(np.logical_not(predict_issame), np.logical_not(actual_issame)))
    fn = np.sum(np.logical_and(np.logical_not(predict_issame), actual_issame))
    tpr = 0 if (tp + fn == 0) else float(tp) / float(tp + fn)
    fpr = 0 if (fp + tn == 0) else float(fp) / float(fp + tn)
    acc = float(tp + tn) / dist.size
    return tpr, fpr, acc


def calculate_roc(thresholds, dist, actual_issame, splits):
    splits = list(splits)
    nrof_folds = len(splits)
    nrof_thresholds = len(thresholds)
    tprs = np.zeros((nrof_folds, nrof_thresholds))
    fprs = np.zeros((nrof_folds, nrof_thresholds))
    accuracy = np.zeros((nrof_folds))
    best = np.zeros((nrof_folds), dtype=int)
    for fold_idx, (train_set, test_set) in enumerate(splits):
        acc_train = np.zeros((nrof_thresholds))
        for threshold_idx, threshold in enumerate(thresholds):
            _, _, acc_train[threshold_idx] = calculate_accuracy(
                threshold, dist[train_set], actual_issame[train_set]
            )
        best_threshold_index = np.argmax(acc_train)
        best[fold_idx] = best_threshold_index
        for threshold_idx, threshold in enumerate(thresholds):
            tprs[fold_idx, threshold_idx], fprs[fold_idx, threshold_idx], _ = calculate_accuracy(
                threshold, dist[test_set], actual_issame[test_set]
            )
        _, _, accuracy[fold_idx] = calculate_accuracy(
            thresholds[best_threshold_index], dist[test_set], actual_issame[test_set]
        )
    tpr = np.mean(tprs, 0)
    fpr = np.mean(fprs, 0)
    return tpr, fpr, accuracy, best


def main():
    request = json.load(sys.stdin)
    thresholds = np.arange(0, 4, 0.01)
    results = []
    for case in request["cases"]:
        dist = np.asarray(case["distances"], dtype=np.float64)
        issame = np.asarray(case["same"], dtype=bool)
        folds = case.get("folds")
        splits = kfold_split(len(dist)) if folds is None else explicit_split(folds)
        tpr, fpr, accuracy, best = calculate_roc(thresholds, dist, issame, splits)
        results.append(
            {
                "bestIndices": [int(b) for b in best],
                "bestThresholds": [repr(float(thresholds[b])) for b in best],
                "foldAccuracies": [repr(float(a)) for a in accuracy],
                "accuracy": repr(float(np.mean(accuracy))),
                "tpr": [repr(float(v)) for v in tpr],
                "fpr": [repr(float(v)) for v in fpr],
            }
        )
    json.dump({"thresholds": [repr(float(t)) for t in thresholds], "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
