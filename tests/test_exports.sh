#!/usr/bin/env bash
# libnnkit.so, libnnkit-tensorboard.so, libnnkit-experiment.so, libnnkit-data.so (and libnnkit-mpi.so) export exactly the functions
# their public headers mark NNK_API: no internal nnk_* function, no
# protobuf-c symbol, and nothing public missing.
set -u
src=$1
shift
pass=0 fail=0
declared() { # the NNK_API function names of a header
  sed -n 's/^NNK_API .*[ *]\(nnk_[a-z0-9_]*\)(.*/\1/p' "$1" | sort -u
}
check() { # library, header
  local lib=$1 header=$2 exported want extra missing
  exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDRB]/ {print $3}' | sort -u)
  want=$(declared "$header")
  extra=$(comm -23 <(echo "$exported") <(echo "$want") | tr '\n' ' ')
  missing=$(comm -13 <(echo "$exported") <(echo "$want") | tr '\n' ' ')
  if [ -z "$extra" ] && [ -z "$missing" ] && [ -n "$want" ]; then
    pass=$((pass + 1))
  else
    echo "FAIL $(basename "$lib"): exports beyond $(basename "$header"): ${extra:-none}; declared but not exported: ${missing:-none}"
    fail=$((fail + 1))
  fi
}
check "$1" "$src/core/include/nnkit/nnkit.h"
check "$2" "$src/tensorboard/include/nnkit/tensorboard.h"
check "$3" "$src/experiment/include/nnkit/experiment.h"
check "$4" "$src/data/include/nnkit/data.h"
[ $# -ge 5 ] && check "$5" "$src/mpi/include/nnkit/mpi.h" # libnnkit-mpi, where Open MPI is found
echo "exports: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
