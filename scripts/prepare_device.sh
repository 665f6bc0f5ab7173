#!/usr/bin/env bash
# Fill .whl/ (git-ignored) with what the GPU machine lacks for benchmarks/gpu_run.sh: the pure-Python
# and cp312 wheels of the book's stack, MNIST as a Keras-format mnist.npz (uint8, from the offline
# source) and a copy of the anchor script. Run here, in the repository root, after `make test`.
set -euo pipefail
mkdir -p .whl
plat="--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64"
plat="$plat --platform manylinux2014_x86_64 --platform manylinux1_x86_64"
for p in keras==3.15.1 namex optree ripser==0.6.15 persim==0.4.1 kmapper==2.1.0 umap-learn==0.5.12 pynndescent \
         pyBallMapper==0.3.7 mlxtend==0.25.0 plotly==7.1.0 hopcroftkarp deprecated; do
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp $plat -d .whl "$p"
done
.venv/bin/python - <<'PY'
import numpy as np, topohelpers as th
d = th.load_mnist()
u8 = lambda x: np.round(np.asarray(x) * 255).astype(np.uint8)   # both sources give pixel/255
np.savez_compressed(".whl/mnist.npz", x_train=u8(d.x_train), y_train=d.y_train.astype(np.uint8),
                    x_test=u8(d.x_test), y_test=d.y_test.astype(np.uint8))
PY
cp ../shared/anchors/jax_ensemble_reference.py .whl/
du -sh .whl
