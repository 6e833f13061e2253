#!/usr/bin/env bash
# Trains and evaluates the zonegate learned risk score and XGBoost (native categorical features) on the same KCS
# split (train = 2020, valid = 2021-01..03, early stopping on valid for both), in one run, and prints both tables side
# by side. Needs: cargo, python3 with `pip install xgboost pandas`.
#
#   scripts/risk/compare.sh [SEED]
set -euo pipefail
cd "$(dirname "$0")/../.."
seed="${1:-42}"
train=data/kcs/df_syn_train_eng.csv
valid=data/kcs/df_syn_valid_eng.csv
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

if ! cargo build --release -q -p zonegate-cli 2>"$out/build.txt"; then
    cat "$out/build.txt" >&2
    exit 1
fi
echo "== zonegate"
/usr/bin/time -f "train wall %e s" ./target/release/zonegate risk train --csv "$train" --valid "$valid" \
    --label Fraud --seed "$seed" --out "$out/model.json" 2>&1 | tee "$out/zonegate_train.txt"
./target/release/zonegate risk evaluate --model "$out/model.json" --csv "$valid" --label Fraud | tee "$out/zonegate.txt"

echo "== xgboost"
python3 scripts/risk/xgboost_compare.py "$train" "$valid" --seed "$seed" --max-depth 8 --eta 0.1 --rounds 5000 \
    2>/dev/null | tee "$out/xgboost.txt"

echo
echo "== side by side (valid: $valid)"
printf '%-44s | %s\n' "zonegate" "xgboost (enable_categorical)"
paste -d'|' <(tail -n 6 "$out/zonegate.txt" | awk '{printf "%-44s\n", $0}') <(tail -n 6 "$out/xgboost.txt") |
    sed 's/|/ | /'
