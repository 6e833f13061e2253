#!/usr/bin/env python3
"""XGBoost baseline for the zonegate learned risk score, on the same KCS split.

Trains XGBoost with native categorical features (pandas `category` dtype, `enable_categorical=True`) on the train
CSV, early-stops on the valid CSV (AUC) and prints precision/recall at inspection rates 1, 2, 5, 10 % and the AUC in
the same table format as `zonegate risk evaluate`. Used for the comparison only (scripts/risk/compare.sh); nothing in
the product depends on Python.

Usage: xgboost_compare.py TRAIN_CSV VALID_CSV [--seed N] [--label Fraud]
"""

import argparse
import math
import time

import numpy as np
import pandas as pd
import xgboost as xgb

CATEGORICAL = [
    "Office ID", "Process Type", "Import Type", "Import Use", "Payment Type", "Mode of Transport",
    "Declarant ID", "Importer ID", "Seller ID", "Courier ID", "HS6 Code", "Country of Departure",
    "Country of Origin", "Tax Type", "Country of Origin Indicator",
]
# The same derived columns the zonegate KCS adapter builds (HS4, HS2, unit value, weekday): a fair comparison gives
# both models the same information. `Date` itself is not a feature for either (train and valid do not overlap in time).
DERIVED_CATEGORICAL = ["HS4", "HS2"]
NUMERIC = ["Tax Rate", "Net Mass", "Item Price"]
DERIVED_NUMERIC = ["Unit Value", "Weekday"]
LABELS = ["Fraud", "Critical Fraud"]
# The crossed columns of zonegate's KCS adapter (`kcs::CROSSES`), for the `--crosses` variant.
CROSSES = [("HS6 Code", "Country of Origin"), ("HS6 Code", "Country of Departure"), ("HS6 Code", "Tax Type")]


def load(path):
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in NUMERIC:
        frame[column] = pd.to_numeric(frame[column])
    frame["HS4"] = frame["HS6 Code"].str[:4]
    frame["HS2"] = frame["HS6 Code"].str[:2]
    mass = frame["Net Mass"]
    frame["Unit Value"] = np.where(mass > 0, frame["Item Price"] / mass.where(mass > 0, 1.0), np.nan)
    frame["Weekday"] = pd.to_datetime(frame["Date"]).dt.day_of_week.astype(float)
    return frame


def add_crosses(frame, crosses):
    for a, b in crosses:
        frame[f"{a}*{b}"] = frame[a] + "|" + frame[b]


def features(train, valid, crosses):
    columns = CATEGORICAL + DERIVED_CATEGORICAL + [f"{a}*{b}" for a, b in crosses]
    add_crosses(train, crosses)
    add_crosses(valid, crosses)
    x_train = pd.DataFrame(index=train.index)
    x_valid = pd.DataFrame(index=valid.index)
    for column in columns:
        # Categories known from train only; unseen valid values become missing, as in a deployed model.
        values = train[column].replace("", np.nan)
        categories = pd.Index(sorted(values.dropna().unique()))
        x_train[column] = pd.Categorical(values, categories=categories)
        valid_values = valid[column].replace("", np.nan)
        valid_values = valid_values.where(valid_values.isin(categories))
        x_valid[column] = pd.Categorical(valid_values, categories=categories)
    for column in NUMERIC + DERIVED_NUMERIC:
        x_train[column] = train[column].astype(float)
        x_valid[column] = valid[column].astype(float)
    return x_train, x_valid


def auc(scores, labels):
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores))
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    positives = labels.sum()
    negatives = len(labels) - positives
    return (ranks[labels == 1].sum() - positives * (positives + 1) / 2.0) / (positives * negatives)


def table(title, scores, labels):
    n = len(scores)
    positives = int(labels.sum())
    # Highest score first; ties by input order (as zonegate does).
    order = sorted(range(n), key=lambda i: (-scores[i], i))
    lines = [title, f"{'rate':>6} {'inspected':>9} {'precision':>9} {'recall':>7}"]
    for rate in (0.01, 0.02, 0.05, 0.10):
        k = math.ceil(rate * n - 1e-9)
        hits = int(sum(labels[i] for i in order[:k]))
        lines.append(f"{rate * 100:>5.0f}% {k:>9} {hits / k:>9.4f} {hits / positives:>7.4f}")
    lines.append(f"AUC {auc(scores, labels):.4f}  ({n} rows, {positives} positive)")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("train")
    parser.add_argument("valid")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--label", default="Fraud")
    parser.add_argument("--max-depth", type=int, default=6)
    parser.add_argument("--eta", type=float, default=0.05)
    parser.add_argument("--max-cat-to-onehot", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3000)
    parser.add_argument("--crosses", action="store_true",
                        help="also give XGBoost the crossed categorical columns zonegate's KCS adapter builds")
    args = parser.parse_args()

    train = load(args.train)
    valid = load(args.valid)
    y_train = train[args.label].astype(int).to_numpy()
    y_valid = valid[args.label].astype(int).to_numpy()
    x_train, x_valid = features(train, valid, CROSSES if args.crosses else [])

    params = {
        "objective": "binary:logistic",
        "eval_metric": "auc",
        "tree_method": "hist",
        "max_depth": args.max_depth,
        "eta": args.eta,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "min_child_weight": 1.0,
        "lambda": 1.0,
        "max_cat_to_onehot": args.max_cat_to_onehot,
        "max_bin": 256,
        "seed": args.seed,
        "nthread": 2,
    }
    d_train = xgb.DMatrix(x_train, label=y_train, enable_categorical=True)
    d_valid = xgb.DMatrix(x_valid, label=y_valid, enable_categorical=True)
    started = time.time()
    booster = xgb.train(params, d_train, num_boost_round=args.rounds, evals=[(d_valid, "valid")],
                        early_stopping_rounds=100, verbose_eval=False)
    seconds = time.time() - started
    scores = booster.predict(d_valid, iteration_range=(0, booster.best_iteration + 1))
    print(f"xgboost {xgb.__version__}: {booster.best_iteration + 1} trees (best of {booster.num_boosted_rounds()}), "
          f"max_depth {args.max_depth}, eta {args.eta}, max_cat_to_onehot {args.max_cat_to_onehot}, "
          f"crosses {'yes' if args.crosses else 'no'}, trained in {seconds:.1f} s")
    print(table(f"valid: {args.valid}", scores, y_valid))


if __name__ == "__main__":
    main()
