#!/usr/bin/env bash
# Soak test of the C ABI (soak.c): THREADS threads x ROUNDS rounds on one model, label sets
# created and freed concurrently, every result compared with the sequential run, RSS growth
# after warm-up bounded.
#   bash bindings/c/tests/soak/soak.sh PREFIX WEIGHTS [THREADS] [ROUNDS] [valgrind]
# CI runs 8 x 100 natively and 8 x 3 under valgrind; a long soak: 8 x 5000.
set -euo pipefail
prefix="$1"; weights="$2"; threads="${3:-8}"; rounds="${4:-100}"; mode="${5:-native}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lseg/target}"
work="$CARGO_TARGET_DIR/c-tests"
mkdir -p "$work/bin"
cc -std=c11 -Wall -Wextra -Werror -pedantic -O1 -g -pthread -I"$prefix/include" \
  "$(dirname "$0")/soak.c" -L"$prefix/lib" -llseg -Wl,-rpath,"$prefix/lib" -o "$work/bin/soak"
if [ "$mode" = valgrind ]; then
  # Errors and definite/indirect leaks are fatal; RSS is valgrind's, not checked (limit 4 GB).
  valgrind -q --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect "$work/bin/soak" "$weights" "$threads" "$rounds" 4096
else
  "$work/bin/soak" "$weights" "$threads" "$rounds"
fi
