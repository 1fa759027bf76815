#!/bin/sh
# tools/bench_dist.sh [BENCH] - bench/dist under mpirun with 1 and 2 ranks
# (`make bench-dist`), then the scaling efficiency of each setting:
# samples/s at 2 ranks over twice those at 1 rank. The machine is shared:
# compare the two runs of one invocation, as ratios.
bin=${1:-build/bench/dist}
out=$(mktemp "${TMPDIR:-/tmp}/mlp-bench-dist.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT INT TERM
for np in 1 2; do
    sh tools/mpirun.sh "$np" "$bin" $DIST_ARGS | tee -a "$out" || exit 1
done
awk '/^dist / {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    key = v["net"] " bucket=" v["bucket"]
    sps[key, v["ranks"]] = v["samples_per_s"]; keys[key] = 1
}
END {
    for (k in keys)
        if (sps[k, 1] > 0 && sps[k, 2] > 0)
            printf("scaling net=%s efficiency_2=%.2f (samples/s %s -> %s)\n", k,
                   sps[k, 2] / (2 * sps[k, 1]), sps[k, 1], sps[k, 2])
}' "$out" | sort
