#!/usr/bin/env bash
# The prepared GPU run of the training engine (one call of the device machine; JAX, no TensorFlow
# there). Needs .whl/ from scripts/prepare_device.sh; writes logs and JSON to $OUT.
#   run: bash benchmarks/gpu_run.sh   (carry .whl)
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  && export PYTHONPATH=/tmp/site:$PWD || exit 1
mkdir -p ~/.keras/datasets && cp .whl/mnist.npz ~/.keras/datasets/mnist.npz
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 TOPO_CACHE=/tmp/topocache TF_CPP_MIN_LOG_LEVEL=3
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -c "import jax, keras, numpy; print('jax', jax.__version__, 'keras', keras.__version__, 'numpy', numpy.__version__, jax.devices())" | tee -a "$OUT/gpu.txt"
step() { echo "== $1 ($(date +%T))"; }
step "1. ours beside sequential model.fit"
timeout 200 python3 benchmarks/train_ensemble.py --members 16 100 --steps 150 --sequential-max 4 --batch-max 16 \
  --precisions float32 tf32 mixed_bfloat16 --json "$OUT/bench.json" 2>&1 | grep -v "^W0000\|^I0000" | tee "$OUT/bench.txt"
step "2. the anchor (expert JAX loop), same session"
timeout 80 python3 .whl/jax_ensemble_reference.py 16 100 2>&1 | tee "$OUT/anchor.txt"
step "3. the engine's tests under JAX on the GPU"
XLA_PYTHON_CLIENT_PREALLOCATE=false timeout 130 python3 -m pytest -q -p no:cacheprovider -n 6 tests/test_training.py \
  tests/test_generalization.py tests/test_cifar_vgg.py -k "not vgg16 and not hed" 2>&1 | tail -15 | tee "$OUT/tests.txt"
step "4. train_ensemble end to end on MNIST, 100 networks"
timeout 150 python3 benchmarks/train_ensemble.py --members 100 --paths none --chunk 50 --end-to-end 2000 \
  --precisions mixed_bfloat16 float32 --json "$OUT/e2e.json" 2>&1 | grep -v "^W0000\|^I0000" | tee "$OUT/e2e.txt"
step "done"
