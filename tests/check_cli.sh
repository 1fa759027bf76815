#!/bin/sh
# tests/check_cli.sh - the `mlp` command as a user runs it: train, eval,
# predict and info on small CSV files, and clear errors with a non-zero
# exit on bad tables and bad options. Run from the repository root;
# BUILD names the build (build, build/san).
set -u
mlp=${BUILD:-build}/bin/mlp
[ -x "$mlp" ] || { echo "check_cli: $mlp not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "check_cli: FAIL: $*"; fails=$((fails + 1)); }

# expect CODE PATTERN CMD...: exit status CODE and PATTERN in stdout+stderr
expect() {
    code=$1 pat=$2
    shift 2
    out=$("$@" 2>&1)
    rc=$?
    [ "$rc" -eq "$code" ] || fail "'$*' exited $rc, expected $code: $out"
    printf '%s\n' "$out" | grep -q -- "$pat" || fail "'$*' did not say '$pat': $out"
}

# Two classes split by the line x + y = 1 on a 20 x 20 grid, with a header.
awk 'BEGIN { print "x,y,label"; for (i = 0; i < 20; i++) for (j = 0; j < 20; j++) {
    x = i / 19; y = j / 19; printf "%.4f,%.4f,%d\n", x, y, (x + y > 1) } }' > "$tmp/cls.csv"
# A regression target: z = 2x - y + 0.5, target in the first column.
awk 'BEGIN { for (i = 0; i < 15; i++) for (j = 0; j < 15; j++) {
    x = i / 14; y = j / 14; printf "%.6f,%.4f,%.4f\n", 2 * x - y + 0.5, x, y } }' > "$tmp/reg.csv"

expect 0 "task: classify" "$mlp" train "$tmp/cls.csv" --header -o "$tmp/cls.mlp" \
    --hidden 16 --epochs 60 --lr 0.02 --val-split 0.25 --seed 1
expect 0 "epoch 60/60 loss=.* accuracy=.* val_accuracy=" "$mlp" train "$tmp/cls.csv" --header \
    -o "$tmp/cls.mlp" --hidden 16 --epochs 60 --lr 0.02 --val-split 0.25 --seed 1
acc=$("$mlp" eval "$tmp/cls.mlp" "$tmp/cls.csv" --header | sed -n 's/^accuracy=\([0-9.]*\) n=400$/\1/p')
[ -n "$acc" ] && awk -v a="$acc" 'BEGIN { exit !(a >= 0.95) }' ||
    fail "classifier accuracy '$acc' on a linearly separable grid, expected >= 0.95"
expect 0 "confusion (rows: true class" "$mlp" eval "$tmp/cls.mlp" "$tmp/cls.csv" --header --confusion
# predict: one class per row, and probabilities that sum to 1
n=$("$mlp" predict "$tmp/cls.mlp" "$tmp/cls.csv" --header | grep -c '^[01]$')
[ "$n" = 400 ] || fail "predict gave $n class lines of 0/1, expected 400"
"$mlp" predict "$tmp/cls.mlp" "$tmp/cls.csv" --header --proba |
    awk -F, '{ s = $1 + $2; if (NF != 2 || s < 0.9999 || s > 1.0001) bad++ } END { exit bad > 0 || NR != 400 }' ||
    fail "predict --proba rows are not 400 pairs summing to 1"
# a table without the target column predicts too
cut -d, -f1,2 "$tmp/cls.csv" > "$tmp/inputs.csv"
n=$("$mlp" predict "$tmp/cls.mlp" "$tmp/inputs.csv" --header | wc -l)
[ "$n" -eq 400 ] || fail "predict on inputs only gave $n lines, expected 400"
expect 0 "linear(2 -> 16)" "$mlp" info "$tmp/cls.mlp"
expect 0 "parameters: 82" "$mlp" info "$tmp/cls.mlp"

out=$("$mlp" train "$tmp/cls.csv" --header -o "$tmp/q.mlp" --epochs 1 --quiet 2>&1)
[ -z "$out" ] && [ -f "$tmp/q.mlp" ] || fail "train --quiet printed '$out' or saved nothing"
# --standardize: inputs in the thousands, scaled inside the model
awk -F, 'NR > 1 { printf "%.2f,%.4f,%d\n", 5000 + 1000 * $1, $2, $3 }' "$tmp/cls.csv" > "$tmp/big.csv"
expect 0 "saved" "$mlp" train "$tmp/big.csv" --standardize -o "$tmp/big.mlp" --hidden 16 \
    --epochs 60 --lr 0.02 --seed 1
expect 0 "standardize(2)" "$mlp" info "$tmp/big.mlp"
acc=$("$mlp" eval "$tmp/big.mlp" "$tmp/big.csv" | sed -n 's/^accuracy=\([0-9.]*\) n=400$/\1/p')
[ -n "$acc" ] && awk -v a="$acc" 'BEGIN { exit !(a >= 0.95) }' ||
    fail "standardized classifier accuracy '$acc' on raw rows, expected >= 0.95"
expect 0 "task: regress" "$mlp" train "$tmp/reg.csv" --target 1 -o "$tmp/reg.mlp" --hidden 32 \
    --epochs 150 --lr 0.01 --seed 2
rmse=$("$mlp" eval "$tmp/reg.mlp" "$tmp/reg.csv" --target 1 | sed -n 's/^rmse=\([0-9.e-]*\) mae=.*/\1/p')
[ -n "$rmse" ] && awk -v r="$rmse" 'BEGIN { exit !(r < 0.1) }' ||
    fail "regressor rmse '$rmse' on a plane, expected < 0.1 (targets span -0.5..2.5)"
n=$("$mlp" predict "$tmp/reg.mlp" "$tmp/reg.csv" --target 1 | wc -l)
[ "$n" -eq 225 ] || fail "regressor predict gave $n lines, expected 225"

# convert: libmlp -> ONNX -> libmlp gives the same predictions, and an
# ONNX model exported by PyTorch runs and converts
expect 0 "wrote" "$mlp" convert "$tmp/cls.mlp" "$tmp/cls.onnx"
expect 0 "format: ONNX" "$mlp" info "$tmp/cls.onnx"
expect 0 "wrote" "$mlp" convert "$tmp/cls.onnx" "$tmp/back.mlp"
"$mlp" predict "$tmp/cls.mlp" "$tmp/cls.csv" --header --proba > "$tmp/p1"
"$mlp" predict "$tmp/cls.onnx" "$tmp/cls.csv" --header --proba > "$tmp/p2"
"$mlp" predict "$tmp/back.mlp" "$tmp/cls.csv" --header --proba > "$tmp/p3"
cmp -s "$tmp/p1" "$tmp/p2" && cmp -s "$tmp/p1" "$tmp/p3" ||
    fail "predictions differ after converting to ONNX and back"
expect 0 "linear(6 -> 8)" "$mlp" info tests/fixtures/onnx/gemm_relu_o9.onnx
expect 1 "cls.csv: mlp_model_load: .*not a libmlp model" "$mlp" convert "$tmp/cls.csv" "$tmp/x.onnx"

# Bad tables: the file, the line and the column, and exit status 1.
printf '1,2,0\n3,4,1\n5,6\n' > "$tmp/ragged.csv"
expect 1 "ragged.csv.*line 3" "$mlp" train "$tmp/ragged.csv" -o "$tmp/x.mlp"
printf '1,2,0\n3,abc,1\n' > "$tmp/word.csv"
expect 1 "word.csv.*line 2, column 2" "$mlp" train "$tmp/word.csv" -o "$tmp/x.mlp"
printf '1,2,0\n3,nan,1\n' > "$tmp/nan.csv"
expect 1 "nan.csv.*line 2, column 2 is 'nan', not a finite number" "$mlp" train "$tmp/nan.csv" -o "$tmp/x.mlp"
printf '1,2,0\n3,4,inf\n' > "$tmp/inf.csv"
expect 1 "inf.csv.*line 2, column 3 is 'inf'" "$mlp" train "$tmp/inf.csv" -o "$tmp/x.mlp"
expect 1 "nothere.csv" "$mlp" train "$tmp/nothere.csv" -o "$tmp/x.mlp"
printf '0.1,0.2,7\n0.3,0.4,1\n' > "$tmp/label.csv"
expect 1 "label.csv: line 1: the class label 7 is not one of 0..1" \
    "$mlp" eval "$tmp/cls.mlp" "$tmp/label.csv"
printf '0.1,0.2,0.5,1\n' > "$tmp/wide.csv"
expect 1 "4 columns, but the model takes 2 inputs" "$mlp" eval "$tmp/cls.mlp" "$tmp/wide.csv"
expect 1 "not a libmlp model\|magic\|format" "$mlp" info "$tmp/cls.csv"
[ ! -e "$tmp/x.mlp" ] || fail "a failed train left $tmp/x.mlp behind"

# Bad options: exit status 2 and a message naming the option.
expect 2 "usage: mlp train" "$mlp" train "$tmp/cls.csv"
expect 2 "unknown option '--hiden'" "$mlp" train "$tmp/cls.csv" -o "$tmp/x.mlp" --hiden 3
expect 2 "hidden 0" "$mlp" train "$tmp/cls.csv" -o "$tmp/x.mlp" --hidden 0
expect 2 "--lr abc: not a finite number" "$mlp" train "$tmp/cls.csv" -o "$tmp/x.mlp" --lr abc
expect 2 "unknown command 'fly'" "$mlp" fly
expect 0 "usage: mlp COMMAND" "$mlp" help
expect 1 "--act swish" "$mlp" train "$tmp/cls.csv" --header -o "$tmp/x.mlp" --act swish

[ "$fails" -eq 0 ] || exit 1
echo "check_cli: train, eval, predict, info and bad input behave"
