"""Evidence that the embedded digits model learned, from samples the toolkit drew.

    V/bin/python tools/train/evaluate.py export --out /tmp/digits      # train.npy, test.npy (8-bit)
    ddpm sample --count 400 --seed 1 --out /tmp/digits/samples.npy     # the embedded model
    ddpm bpd --model embedded:digits --eval /tmp/digits/test.npy        # likelihood (bpd/)
    V/bin/python tools/train/evaluate.py score /tmp/digits/samples.npy [--json OUT]
    V/bin/python tools/train/evaluate.py score S.npy --classes 0,1,2,3,4,5,6,7,8,9  # asked-for

With `--classes` (the list `ddpm sample --class` cycled over the samples) it also reports the
share of samples the classifier assigns to the class each was drawn for, overall and per class.

`score` trains a logistic-regression classifier on the training split (scikit-learn, fixed
seed) and reports, for the samples and for the test images (the ceiling): the mean top-class
probability and the class histogram; and novelty: each image's L2 distance to its nearest
training image, as quantiles, for the samples against the test images' own, and how many
samples are nearer to a training image than every test image is (copies would be); and the
Frechet distance between the samples and the test images in the classifier's feature space
(its 10 decision-function values per image), beside the training images' own distance to the
test images there (the floor a perfect model would sit near).
"""

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from train import digits_16, load_split  # noqa: E402


def data():
    x, y = digits_16()
    split = load_split()
    return (x[split["train"]], y[split["train"]]), (x[split["test"]], y[split["test"]])


def eight_bit(x):
    """x on the 8-bit grid the likelihood's discretized decoder assumes (256 levels spanning
    [-1, 1], as the paper's data): the upscaled digits take values between the levels, at most
    1/255 from one."""
    return (np.round((x + 1) / 2 * 255) / 255 * 2 - 1).astype(np.float32)


def classifier(train_x, train_y):
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=5000, C=1.0, random_state=0)
    clf.fit(train_x.reshape(len(train_x), -1), train_y)
    return clf


def nearest(train_x, x):
    t = train_x.reshape(len(train_x), -1).astype(np.float64)
    q = x.reshape(len(x), -1).astype(np.float64)
    d2 = (q * q).sum(1)[:, None] - 2 * q @ t.T + (t * t).sum(1)[None, :]
    return np.sqrt(np.maximum(d2.min(1), 0))


def frechet(a, b):
    """The Frechet distance between Gaussians fitted to the rows of `a` and of `b`:
    |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))."""
    from scipy import linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(s_a @ s_b)
    root = np.real(root)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a + s_b - 2 * root))


def features(clf, x):
    """The classifier's decision function: 10 values per image."""
    return clf.decision_function(x.reshape(len(x), -1)).astype(np.float64)


def summary(name, clf, x, d):
    """The classifier's view of `x` and the quantiles of `d`, its distances to the nearest
    training image."""
    p = clf.predict_proba(x.reshape(len(x), -1))
    top = p.argmax(1)
    hist = np.bincount(top, minlength=10)
    q = np.quantile(d, [0.0, 0.05, 0.25, 0.5, 0.75, 1.0])
    return {
        "set": name,
        "images": int(len(x)),
        "mean_top_class_probability": float(p.max(1).mean()),
        "class_histogram": hist.tolist(),
        "nearest_train_l2_quantiles_0_5_25_50_75_100": [float(v) for v in q],
    }


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("--out", required=True)
    s = sub.add_parser("score")
    s.add_argument("samples")
    s.add_argument("--json")
    s.add_argument("--classes", help="the --class list the samples were drawn with")
    args = ap.parse_args()
    (train_x, train_y), (test_x, test_y) = data()
    if args.cmd == "export":
        os.makedirs(args.out, exist_ok=True)
        np.save(os.path.join(args.out, "train.npy"), eight_bit(train_x))
        np.save(os.path.join(args.out, "test.npy"), eight_bit(test_x))
        print(f"{len(train_x)} train and {len(test_x)} test images [N, 1, 16, 16] in {args.out}")
        return
    samples = np.load(args.samples).astype(np.float32)
    if samples.ndim != 4 or samples.shape[1:] != (1, 16, 16):
        raise SystemExit(f"samples must be [N, 1, 16, 16], got {samples.shape}")
    clf = classifier(train_x, train_y)
    acc = float((clf.predict(test_x.reshape(len(test_x), -1)) == test_y).mean())
    samples = np.clip(samples, -1, 1)
    d_samples, d_test = nearest(train_x, samples), nearest(train_x, test_x)
    report = {
        "classifier_test_accuracy": acc,
        "samples": summary("samples", clf, samples, d_samples),
        "test": summary("test", clf, test_x, d_test),
    }
    # A copy of a training image sits nearer to it than any held-out image does to its own
    # nearest training image.
    nearer = int((d_samples < d_test.min()).sum())
    report["samples_nearer_to_train_than_every_test_image"] = nearer
    test_f = features(clf, test_x)
    report["frechet_to_test_in_classifier_features"] = {
        "samples": frechet(features(clf, samples), test_f),
        "train_images": frechet(features(clf, train_x), test_f),
    }
    if args.classes:
        wanted = [int(c) for c in args.classes.split(",")]
        asked = np.array([wanted[i % len(wanted)] for i in range(len(samples))])
        got = clf.predict(samples.reshape(len(samples), -1))
        report["asked_class_share"] = float((got == asked).mean())
        report["asked_class_share_by_class"] = {
            str(c): float((got[asked == c] == c).mean()) for c in sorted(set(wanted))
        }
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
