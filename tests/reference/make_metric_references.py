#!/usr/bin/env python3
"""Writes tests/reference/metric_references.txt: fixed predictions and
labels, and what each classification metric gives on them, from
scikit-learn where it computes the same quantity (precision, recall, the
confusion counts, F1 and F-beta) and from Keras's formulas written out
here in NumPy where it does not (AUC's thresholds, buckets and
interpolation; top-k with TensorFlow's tie rule). The data has ties, an
empty class, and a batch whose labels are all one class. Metrics that
give several values (a list of thresholds, average=none) are written
metric[i], one line per value, with the list ':'-separated.

    /usr/bin/python3 tests/reference/make_metric_references.py > tests/reference/metric_references.txt
"""
import numpy as np
import sklearn
from sklearn.metrics import (confusion_matrix, f1_score, fbeta_score, precision_score, recall_score,
                             roc_auc_score, top_k_accuracy_score)

rng = np.random.default_rng(20261203)
F32 = np.float32


def softmax_rows(n, c, ties=0):
    z = rng.normal(size=(n, c)).astype(F32)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    p = p.astype(F32)
    for r in range(ties):  # the row's two largest equal
        order = np.argsort(-p[r])
        p[r, order[1]] = p[r, order[0]]
    return p


def cases():
    # 40 rows of 4 classes, class 3 never the label, two rows with tied maxima
    p = softmax_rows(40, 4, ties=2)
    idx = rng.integers(0, 3, size=40)
    yield "multiclass_sparse", p, idx.reshape(-1, 1).astype(F32), np.eye(4, dtype=F32)[idx]
    yield "multiclass_onehot", p, np.eye(4, dtype=F32)[idx], np.eye(4, dtype=F32)[idx]
    # one unit: ties, values on the threshold and on the 11-threshold grid, 0 and 1
    b = np.array([0.5, 0.5, 0.3, 0.7, 0.0, 1.0, 0.2, 0.9, 0.6, 0.4, 0.8, 0.1, 0.5, 0.05, 0.95, 0.35, 0.65, 0.45,
                  0.55, 0.25], dtype=F32).reshape(-1, 1)
    yb = np.array([1, 0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0], dtype=F32).reshape(-1, 1)
    yield "binary", b, yb, yb
    ones = np.ones_like(yb)  # every label positive
    yield "all_positive", b, ones, ones
    # three independent labels
    m = (1 / (1 + np.exp(-rng.normal(size=(25, 3))))).astype(F32)
    ym = (rng.random(size=(25, 3)) < 0.4).astype(F32)
    yield "multilabel", m, ym, ym
    # every row's two largest tied, the label on the lower column in two rows of three and the higher in the
    # rest: top_k's order among ties (the lower column first) decides what is kept
    t = rng.random(size=(12, 4)).astype(F32) * F32(0.5)
    lab = np.zeros(12, dtype=int)
    for r in range(12):
        a, b = sorted(rng.choice(4, size=2, replace=False))
        t[r, a] = t[r, b] = F32(0.9)
        lab[r] = a if r % 3 else b
    yield "multiclass_ties", t, lab.reshape(-1, 1).astype(F32), np.eye(4, dtype=F32)[lab]


def no_nan(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.where(b != 0, a / np.where(b != 0, b, 1), 0.0)


def keras_top_k_filter(p, k):
    out = np.full(p.shape, -1e10)
    for r in range(p.shape[0]):
        order = sorted(range(p.shape[1]), key=lambda j: (-p[r, j], j))  # top_k: ties to the lower index
        out[r, order[:k]] = p[r, order[:k]]
    return out


def confusion(p, hot, threshold=None, top_k=0, class_id=-1):
    q = keras_top_k_filter(p, top_k) if top_k else p.astype(np.float64)
    if threshold is None:
        threshold = -1e10 if top_k else 0.5
    t = hot.astype(bool)
    if class_id >= 0:
        q, t = q[:, class_id], t[:, class_id]
    pos = q.ravel() > threshold
    return pos, t.ravel()


def sk_counts(pos, t):
    tn, fp, fn, tp = confusion_matrix(t, pos, labels=[False, True]).ravel()
    return tp, fp, tn, fn


def keras_auc(p, hot, curve="ROC", num_thresholds=200, multi_label=False, summation="interpolation"):
    t = num_thresholds
    curves = [(p[:, j], hot[:, j]) for j in range(p.shape[1])] if multi_label else [(p.ravel(), hot.ravel())]
    areas = []
    for pred, lab in curves:
        bucket = np.maximum(np.ceil(pred.astype(F32) * F32(t - 1)) - 1, 0).astype(int)
        bucket = np.minimum(bucket, t - 2)  # predictions in [0, 1]
        pos = np.bincount(bucket, weights=lab.astype(bool).astype(float), minlength=t)
        neg = np.bincount(bucket, weights=(~lab.astype(bool)).astype(float), minlength=t)
        tp, fp = pos[::-1].cumsum()[::-1], neg[::-1].cumsum()[::-1]  # at each threshold: buckets at or above it
        fn, tn = pos.sum() - tp, neg.sum() - fp
        if curve == "ROC" or summation != "interpolation":
            x, y = (no_nan(fp, fp + tn), no_nan(tp, tp + fn)) if curve == "ROC" else (no_nan(tp, tp + fn),
                                                                                     no_nan(tp, tp + fp))
            heights = {"interpolation": (y[:-1] + y[1:]) / 2, "minoring": np.minimum(y[:-1], y[1:]),
                       "majoring": np.maximum(y[:-1], y[1:])}[summation]
            areas.append(np.sum((x[:-1] - x[1:]) * heights))
        else:  # Keras's interpolate_pr_auc
            dtp = tp[:-1] - tp[1:]
            pp = tp + fp
            dp = pp[:-1] - pp[1:]
            slope = no_nan(dtp, np.maximum(dp, 0))
            intercept = tp[1:] - slope * pp[1:]
            both = (pp[:-1] > 0) & (pp[1:] > 0)
            ratio = np.where(both, no_nan(pp[:-1], np.maximum(pp[1:], 0)), 1.0)
            areas.append(np.sum(no_nan(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))))
    return float(np.mean(areas))


def keras_f_binarized(p, threshold=None):
    if threshold is None:
        return (p >= p.max(axis=1, keepdims=True)).astype(int)
    return (p > threshold).astype(int)


def sk_f(hot, binar, average, beta=None):
    hot = hot.astype(int)
    if hot.shape[1] == 1:  # one class: every average is that class's F (0 when it has no support)
        score = fbeta_score(hot.ravel(), binar.ravel(), beta=beta or 1.0, zero_division=0)
        return score if hot.sum() > 0 or average == "micro" else 0.0
    if beta is None:
        return f1_score(hot, binar, average=average, zero_division=0)
    return fbeta_score(hot, binar, beta=beta, average=average, zero_division=0)


def tf_in_top_k(p, target, k):
    hits = [np.isfinite(p[r, target[r]]) and np.sum(p[r] > p[r, target[r]]) < k for r in range(p.shape[0])]
    return float(np.mean(hits))


def references(name, p, y, hot):
    out = []
    cols = p.shape[1]
    for params, kw in (("-", {}), ("thresholds=0.3", {"threshold": 0.3}), ("top_k=1", {"top_k": 1}),
                       ("class_id=1", {"class_id": 1}), ("class_id=3", {"class_id": 3}),
                       ("top_k=2 class_id=0", {"top_k": 2, "class_id": 0})):
        if "class_id" in kw and kw["class_id"] >= cols or "top_k" in kw and cols == 1:
            continue
        pos, t = confusion(p, hot, **kw)
        tp, fp, tn, fn = sk_counts(pos, t)
        out.append(("precision", params, precision_score(t, pos, zero_division=0)))
        out.append(("recall", params, recall_score(t, pos, zero_division=0)))
        for metric, v in zip(("true_positives", "false_positives", "true_negatives", "false_negatives"),
                             (tp, fp, tn, fn)):
            out.append((metric, params, float(v)))
    for curve in ("ROC", "PR"):
        for nt in (200, 11):
            out.append(("auc", f"curve={curve} num_thresholds={nt}", keras_auc(p, hot, curve, nt)))
        if cols > 1:
            out.append(("auc", f"curve={curve} multi_label=true", keras_auc(p, hot, curve, 200, True)))
    for thr, ptxt in ((None, ""), (0.5, " threshold=0.5"), (0.25, " threshold=0.25")):
        binar = keras_f_binarized(p, thr)
        for average in ("micro", "macro", "weighted"):
            out.append(("f1_score", f"average={average}{ptxt}", sk_f(hot, binar, average)))
            out.append(("fbeta_score", f"average={average} beta=2{ptxt}", sk_f(hot, binar, average, 2.0)))
    for curve in ("ROC", "PR"):  # Keras's other summation methods
        for summation in ("minoring", "majoring"):
            out.append(("auc", f"curve={curve} summation_method={summation} num_thresholds=11",
                        keras_auc(p, hot, curve, 11, summation=summation)))
            if curve == "ROC":  # rectangles under and over the trapezoids
                area, trapezoids = keras_auc(p, hot, curve, 11, summation=summation), keras_auc(p, hot, curve, 11)
                assert area <= trapezoids + 1e-12 if summation == "minoring" else area >= trapezoids - 1e-12
            if cols > 1:
                out.append(("auc", f"curve={curve} summation_method={summation} multi_label=true",
                            keras_auc(p, hot, curve, 200, True, summation)))
    # several thresholds at once (Keras's list): one value each, written metric[i], the list ':'-separated
    for params, kw in (("thresholds=0.2:0.5:0.7", {}), ("thresholds=0:0.35:1", {}),
                       ("thresholds=0.1:0.3 class_id=1", {"class_id": 1}), ("thresholds=0.1:0.3 top_k=2", {"top_k": 2})):
        if "class_id" in kw and kw["class_id"] >= cols or "top_k" in kw and cols == 1:
            continue
        for i, thr in enumerate(float(v) for v in params.split()[0].split("=")[1].split(":")):
            pos, t = confusion(p, hot, threshold=thr, **kw)
            tp, fp, tn, fn = sk_counts(pos, t)
            out.append((f"precision[{i}]", params, precision_score(t, pos, zero_division=0)))
            out.append((f"recall[{i}]", params, recall_score(t, pos, zero_division=0)))
            for metric, v in zip(("true_positives", "false_positives", "true_negatives", "false_negatives"),
                                 (tp, fp, tn, fn)):
                out.append((f"{metric}[{i}]", params, float(v)))
    # average=none: one F per class, scikit-learn's average=None
    for thr, ptxt in ((None, ""), (0.5, " threshold=0.5")):
        binar = keras_f_binarized(p, thr)
        for beta in (None, 2.0):
            h = hot.astype(int)
            per_class = ([fbeta_score(h.ravel(), binar.ravel(), beta=beta or 1.0, zero_division=0)] if cols == 1 else
                         fbeta_score(h, binar, beta=beta or 1.0, average=None, zero_division=0))
            for j, v in enumerate(per_class):
                metric = "f1_score" if beta is None else "fbeta_score"
                out.append((f"{metric}[{j}]", f"average=none{' beta=2' if beta else ''}{ptxt}", float(v)))
    if cols > 1 and name.startswith("multiclass"):
        target = hot.argmax(axis=1)
        for k in (1, 2, 3):
            v = tf_in_top_k(p, target, k)
            untied = [r for r in range(p.shape[0]) if len(set(p[r])) == cols]
            assert not untied or abs(top_k_accuracy_score(target[untied], p[untied], k=k, labels=range(cols)) -
                                     tf_in_top_k(p[untied], target[untied], k)) < 1e-12
            metric = "sparse_top_k_categorical_accuracy" if y.shape[1] == 1 else "top_k_categorical_accuracy"
            out.append((metric, f"k={k}", v))
    if cols == 1 and name == "binary":  # Keras's AUC on the grid against scikit-learn's exact one: close
        assert abs(keras_auc(p, hot) - roc_auc_score(hot.ravel(), p.ravel())) < 0.02
    return out


print(f"# written by tests/reference/make_metric_references.py (scikit-learn {sklearn.__version__}, "
      f"NumPy {np.__version__}); do not edit")
for name, p, y, hot in cases():
    print(f"case {name} {p.shape[0]} {p.shape[1]} {y.shape[1]}")
    print("pred " + " ".join(repr(float(v)) for v in p.ravel()))
    print("y " + " ".join(repr(float(v)) for v in y.ravel()))
    refs = references(name, p, y, hot)
    print(f"expect {len(refs)}")
    for metric, params, value in refs:
        print(f"  {metric} {params.replace(' ', ',') if params else '-'} {float(value)!r}")
