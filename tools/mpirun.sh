#!/bin/sh
# tools/mpirun.sh NP PROGRAM [ARGS...] - runs PROGRAM on NP MPI ranks on this
# machine the way the tests and benchmarks do: more ranks than cores are
# allowed (--oversubscribe), root is allowed when running as root (CI),
# and a job that hangs is ended after MPI_TIMEOUT seconds (600).
np=$1
shift
flags="--oversubscribe"
[ "$(id -u)" = 0 ] && flags="$flags --allow-run-as-root"
if command -v timeout >/dev/null 2>&1; then
    exec timeout "${MPI_TIMEOUT:-600}" mpirun $flags -np "$np" "$@"
fi
exec mpirun $flags -np "$np" "$@"
