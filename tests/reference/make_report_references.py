#!/usr/bin/env python3
"""Writes tests/reference/report_references.txt: true and predicted classes
and scikit-learn's classification_report (digits 2, every class listed,
zero_division 0) and confusion_matrix for them, which nnkit evaluate
--report must print byte for byte. Cases: Fashion-MNIST's ten names with a
class never predicted and one never true; three classes, one named in
UTF-8 past the widest heading; two unnamed classes.

    /usr/bin/python3 tests/reference/make_report_references.py > tests/reference/report_references.txt
"""
import numpy as np
import sklearn
from sklearn.metrics import classification_report, confusion_matrix

rng = np.random.default_rng(7)
FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot"]


def fashion():
    true = rng.integers(0, 9, size=300)  # class 9 never true
    pred = np.where(rng.random(300) < 0.7, true, rng.integers(0, 10, size=300))
    pred[pred == 4] = 3  # class 4 never predicted
    return "fashion", FASHION, true, pred


def utf8():
    true = rng.integers(0, 3, size=40)
    pred = np.where(rng.random(40) < 0.6, true, rng.integers(0, 3, size=40))
    return "utf8", ["setosa", "versicolor", "virginica très longue"], true, pred


def binary():
    true = rng.integers(0, 2, size=25)
    pred = np.where(rng.random(25) < 0.8, true, 1 - true)
    return "binary", None, true, pred


print(f"# written by tests/reference/make_report_references.py (scikit-learn {sklearn.__version__}); do not edit")
for name, names, true, pred in (fashion(), utf8(), binary()):
    n = len(names) if names else 2
    text = classification_report(true, pred, labels=list(range(n)), target_names=names, digits=2, zero_division=0)
    lines = text.rstrip("\n").split("\n")
    print(f"case {name} {n} {len(true)}")
    print("names " + ("\t".join(names) if names else "-"))
    print("true " + " ".join(str(v) for v in true))
    print("pred " + " ".join(str(v) for v in pred))
    print(f"report {len(lines)}")
    for line in lines:
        print(line)
    cm = confusion_matrix(true, pred, labels=list(range(n)))
    print("confusion " + " ".join(str(v) for v in cm.ravel()))

# ROC and precision-recall curves per class from scores with ties:
# scikit-learn's roc_auc_score and the trapezoid under precision_recall_curve
from sklearn.metrics import auc, precision_recall_curve, roc_auc_score  # noqa: E402
truth = rng.integers(0, 3, size=60)
scores = np.round(0.7 * rng.random((60, 3)) + 0.3 * (truth[:, None] == np.arange(3)), 2).astype(np.float32)  # ties
print("curves 60 3")
print("scores " + " ".join(repr(float(v)) for v in scores.ravel()))
print("true " + " ".join(str(v) for v in truth))
for k in range(3):
    pos = truth == k
    precision, recall, _ = precision_recall_curve(pos, scores[:, k])
    print(f"class {k} {roc_auc_score(pos, scores[:, k])!r} {auc(recall, precision)!r}")
