#!/usr/bin/env bash
# The GPU check of skvae, in one run on a machine with CUDA (about 5-8 minutes).
#
# It runs the CUDA tests (tests/test_cuda.py and the CUDA test of the
# augmentations), then times on the GPU: CNNClassifier against a plain loop
# (fp32 and bf16, batch 32 and 256), the class-VAEs one by one against
# batched, and one full Table 2 cell group at 50 MNIST images (the four
# conditions, latent 3, seed 0). Results go to $OUT (or ./gpu_check_out):
# gpu_check.log and gpu_results.tar.gz (the benchmarks' .json/.md files).
#
# The machine needs PyTorch with CUDA and what skvae imports. Packages it
# lacks travel as wheels in .whl/ (pure Python; fetch them here first):
#   pip download --no-deps --only-binary=:all: -d .whl \
#       skorch==1.4.0 imbalanced-learn==0.14.2 sklearn-compat==0.1.6
# and MNIST as a copy in .devdata/mnist (cp -r ../shared/data/mnist .devdata/).
# Both folders are ignored by git (.git/info/exclude); carry them along.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_check_out}
RES=$(mktemp -d)
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
export PYTHONUNBUFFERED=1
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --upgrade --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site:$PWD
else
    export PYTHONPATH=$PWD
fi
DATA=${DATA:-.devdata/mnist}
[ -d "$DATA" ] || DATA=../shared/data/mnist

step() {  # step NAME COMMAND...: run, log, keep going on failure
    echo "=== $1 ($(date -u +%H:%M:%S))" | tee -a "$LOG"
    shift
    "$@" 2>&1 | tee -a "$LOG"
    echo "=== exit ${PIPESTATUS[0]}" | tee -a "$LOG"
}

step "machine" bash -c 'nvidia-smi -L; python3 -c "import torch, sklearn, skorch, imblearn; print(torch.__version__, torch.cuda.get_device_name(), sklearn.__version__, skorch.__version__, imblearn.__version__)"'
step "CUDA tests" python3 -m pytest -q -rs -p no:cacheprovider tests/test_cuda.py tests/test_augment.py -k "cuda"
step "CNN, batch 32" python3 benchmarks/bench_cnn.py --device cuda --n-images 8192 --epochs 1 \
    --repeats 3 --batch-size 32 --threads 1 --data-home "$DATA" --out "$RES/b32"
step "CNN, batch 256" python3 benchmarks/bench_cnn.py --device cuda --n-images 32768 --epochs 1 \
    --repeats 3 --batch-size 256 --threads 1 --data-home "$DATA" --out "$RES/b256"
step "class-VAEs" python3 benchmarks/bench_vae_batched.py --device cuda --repeats 2 --threads 1 \
    --data-home "$DATA" --out "$RES/vae"
step "cell group" python3 benchmarks/grid_time.py --measure 50 --device cuda --work "$RES/cells" \
    --cells docs/results/mnist --data-home "$DATA" --out "$RES/grid"
tar -czf "$OUT/gpu_results.tar.gz" -C "$RES" .
echo "results: $OUT/gpu_check.log, $OUT/gpu_results.tar.gz"
