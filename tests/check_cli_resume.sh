#!/bin/sh
# tests/check_cli_resume.sh - `mlp train --checkpoint` survives being
# killed: runs killed with SIGKILL at random moments and resumed with
# --resume, again and again, end with the model file and the epoch lines
# of the run that was never interrupted, bit for bit; SIGINT stops a run
# with a checkpoint and a message saying how to resume. Bounded: at most
# 25 kills. Run from the repository root; BUILD names the build.
set -u
mlp=${BUILD:-build}/bin/mlp
[ -x "$mlp" ] || { echo "check_cli_resume: $mlp not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "check_cli_resume: FAIL: $*"; fails=$((fails + 1)); }

# 3000 rows, 20 inputs, 3 classes, from a fixed linear congruential stream
awk 'BEGIN { s = 12345; for (r = 0; r < 3000; r++) { t = 0; line = "";
    for (c = 0; c < 20; c++) { s = (s * 1103515245 + 12345) % 2147483648; v = s / 2147483648;
        t += (c % 3 == 0 ? v : -v / 2); line = line sprintf("%.5f,", v) }
    print line (t > 1.2 ? 2 : t > 0.4 ? 1 : 0) } }' > "$tmp/d.csv"
args="$tmp/d.csv --hidden 128,128 --epochs 4 --batch 16 --val-split 0.1 --seed 5 --checkpoint-steps 7"
epochs() { grep '^epoch ' "$1" | sed 's/ time=.*//'; }

# shellcheck disable=SC2086
"$mlp" train $args -o "$tmp/ref.mlp" --checkpoint "$tmp/ref.ckpt" > "$tmp/ref.out" 2>&1 ||
    { cat "$tmp/ref.out"; fail "the uninterrupted run failed"; exit 1; }
epochs "$tmp/ref.out" > "$tmp/ref.epochs"
[ "$(wc -l < "$tmp/ref.epochs")" -eq 4 ] || fail "the uninterrupted run printed no 4 epoch lines"

kills=0 done=0 seg=0
: > "$tmp/all.out"
while [ "$done" -eq 0 ]; do
    seg=$((seg + 1))
    resume=""
    [ -f "$tmp/run.ckpt" ] && resume="--resume $tmp/run.ckpt"
    # shellcheck disable=SC2086
    "$mlp" train $args -o "$tmp/run.mlp" --checkpoint "$tmp/run.ckpt" $resume > "$tmp/seg.out" 2>&1 &
    pid=$!
    if [ "$kills" -lt 25 ]; then
        sleep "$(awk -v s="$seg" 'BEGIN { srand(); print 0.05 + rand() * 0.5 }')"
        kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
    fi
    wait "$pid" 2>/dev/null
    rc=$?
    cat "$tmp/seg.out" >> "$tmp/all.out"
    if [ "$rc" -eq 0 ]; then
        done=1
    elif [ "$rc" -ne 137 ]; then
        cat "$tmp/seg.out"
        fail "segment $seg exited $rc"
        break
    fi
done
cmp -s "$tmp/ref.mlp" "$tmp/run.mlp" || fail "the model after $kills kills differs from the uninterrupted one"
cmp -s "$tmp/ref.ckpt" "$tmp/run.ckpt" || fail "the last checkpoint after $kills kills differs"
epochs "$tmp/all.out" | sort -u > "$tmp/run.epochs"
sort -u "$tmp/ref.epochs" | cmp -s - "$tmp/run.epochs" ||
    { diff "$tmp/ref.epochs" "$tmp/run.epochs"; fail "the epoch lines of the resumed runs differ"; }

# SIGINT: finish the step, write the checkpoint, say how to resume, exit 130
rm -f "$tmp/int.ckpt"
# shellcheck disable=SC2086
"$mlp" train $args -o "$tmp/int.mlp" --checkpoint "$tmp/int.ckpt" > "$tmp/int.out" 2>&1 &
pid=$!
n=0
while [ ! -f "$tmp/int.ckpt" ] && [ "$n" -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
kill -INT "$pid"
wait "$pid" 2>/dev/null
rc=$?
if [ "$rc" -eq 130 ]; then
    grep -q "resume with the same command and --resume $tmp/int.ckpt" "$tmp/int.out" ||
        fail "SIGINT did not say how to resume: $(cat "$tmp/int.out")"
    [ ! -e "$tmp/int.mlp" ] || fail "an interrupted run wrote the model"
    # shellcheck disable=SC2086
    "$mlp" train $args -o "$tmp/int.mlp" --checkpoint "$tmp/int.ckpt" --resume "$tmp/int.ckpt" \
        > "$tmp/int2.out" 2>&1 || fail "resuming after SIGINT failed: $(cat "$tmp/int2.out")"
    grep -q "^resumed from" "$tmp/int2.out" || fail "the resumed run did not say where it resumed"
    cmp -s "$tmp/ref.mlp" "$tmp/int.mlp" || fail "the model after SIGINT and resume differs"
elif [ "$rc" -ne 0 ]; then
    fail "SIGINT: exit status $rc, expected 130: $(cat "$tmp/int.out")"
fi

# a checkpoint of other data is refused with a clear message
head -100 "$tmp/d.csv" > "$tmp/small.csv"
out=$("$mlp" train "$tmp/small.csv" -o "$tmp/x.mlp" --resume "$tmp/ref.ckpt" 2>&1)
[ $? -eq 1 ] && printf '%s' "$out" | grep -q "ref.ckpt" || fail "resuming on other data: $out"

[ "$fails" -eq 0 ] || exit 1
echo "check_cli_resume: $kills SIGKILLs in $seg runs, resumed bit-identically; SIGINT checkpoints"
