#!/usr/bin/env bash
# One call of the device machine (JAX, no TensorFlow there): train shards of one paper-scale
# experiment and leave them, with their manifest, in $OUT/<experiment>/. Needs .whl/ from
# scripts/prepare_device.sh. Shards run one after another while the time left (DEADLINE seconds
# from the start, default 480) exceeds 1.2 × the last shard's time; an interrupted shard leaves
# only its checkpoint on that machine.
#   run: TOPO_COMMIT=<commit> bash scripts/paper_gpu.sh mnist-circles 3/5 4/5 50:60   (carry .whl;
#   k/n is a shard, a:b a member range)
# then, here: python -m topohelpers.shipped add <files_at>/<experiment> (checks hashes, merges the
# manifests) and python -m topohelpers.shipped verify.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  && export PYTHONPATH=/tmp/site:$PWD || exit 1
mkdir -p ~/.keras/datasets && cp .whl/mnist.npz ~/.keras/datasets/mnist.npz
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 TOPO_CACHE=/tmp/topocache TOPO_ARTIFACTS="$OUT" TF_CPP_MIN_LOG_LEVEL=3
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -c "import jax, keras; print('jax', jax.__version__, 'keras', keras.__version__, jax.devices())" | tee -a "$OUT/gpu.txt"
exp=$1; shift
deadline=${DEADLINE:-480}
last=0
for s in "$@"; do
  left=$(( deadline - SECONDS ))
  if (( left * 10 < last * 12 || left < 30 )); then echo "== $s: not started ($left s left, the last shard took $last s)"; continue; fi
  echo "== $exp $s ($(date +%T), $left s left)"
  t0=$SECONDS
  timeout -s INT "$left" python3 -m topohelpers.shipped train "$exp" $([[ $s == */* ]] && echo --shard || echo --members) "$s" 2>&1 | tr '\r' '\n' \
    | grep -v "^W0000\|^I0000" | awk 'NR % 20 == 1 || !/it\/s|s\/it/' | tee -a "$OUT/train.log"
  last=$(( SECONDS - t0 ))
done
echo "== verify ($(date +%T))"
python3 -m topohelpers.shipped verify "$exp" 2>&1 | grep -v "^W0000\|^I0000" | tee "$OUT/verify.txt"
ls -la "$OUT"/*
