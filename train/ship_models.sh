#!/usr/bin/env bash
# Train the shipped GANs (gan_2d, gan_3d, gan_4d, cgan_3d, cgan_3d_multiply) at the thesis' scale on one
# CUDA GPU, all five at once, within a time budget, and write their checkpoints into OUT_DIR; then score them
# on the CPU.
#
#   GENLAB_DATA_DIR=../shared/data bash train/ship_models.sh OUT_DIR [MINUTES]
#
# The thesis' architectures are unchanged; the recipe is the CPU one scaled to large batches: plain BCE with
# the regulariser the CPU runs used (class-reconstruction for the GANs, reconstruction for the CGANs; named in
# each checkpoint's metadata), a ramped moving average of G,
# bfloat16 autocast, batch 1024 with rates scaled by sqrt(8) from the CPU runs' batch 128 at 2e-4.
# Each run stops after the first epoch that ends MINUTES (default 9) into it, so the script fits a
# 10-minute budget however fast the GPU is; a snapshot every 20 epochs lets the quality report choose.
# Without a GPU it runs on the CPU (slowly; the CPU commands in docs/training.md are the ones that trained the
# shipped models); DEVICE=cpu EPOCHS=1 LIMIT=512 is the quick check the tests run.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: bash train/ship_models.sh OUT_DIR [MINUTES]}
MINUTES=${2:-9}
DEVICE=${DEVICE:-auto}
EPOCHS=${EPOCHS:-5000}
DATASET=${DATASET:-mnist}
LIMIT=${LIMIT:+--limit $LIMIT}
mkdir -p "$OUT"
COMMON=(--dataset "$DATASET" --device "$DEVICE" --epochs "$EPOCHS" --batch-size 1024 --lr 5.6e-4 --critic-lr 5.6e-4
        --reg-weight 100 --ema 0.9995 --precision bfloat16 --snapshot-every 20
        --time-limit "$((MINUTES * 60))" --storage float16 --quiet $LIMIT)
pids=()
GAN=(--regularizer class-reconstruction)
CGAN=(--latent-dim 3 --regularizer reconstruction)
python -m train gan --latent-dim 2 "${GAN[@]}" "${COMMON[@]}" --out "$OUT/gan_2d" > "$OUT/gan_2d.log" 2>&1 & pids+=($!)
python -m train gan --latent-dim 3 "${GAN[@]}" "${COMMON[@]}" --out "$OUT/gan_3d" > "$OUT/gan_3d.log" 2>&1 & pids+=($!)
python -m train gan --latent-dim 4 "${GAN[@]}" "${COMMON[@]}" --out "$OUT/gan_4d" > "$OUT/gan_4d.log" 2>&1 & pids+=($!)
python -m train cgan "${CGAN[@]}" --conditioning concat "${COMMON[@]}" --out "$OUT/cgan_3d" > "$OUT/cgan_3d.log" 2>&1 & pids+=($!)
python -m train cgan "${CGAN[@]}" --conditioning multiply "${COMMON[@]}" --out "$OUT/cgan_3d_multiply" \
  > "$OUT/cgan_3d_multiply.log" 2>&1 & pids+=($!)
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
for name in gan_2d gan_3d gan_4d cgan_3d cgan_3d_multiply; do echo "$name: $(tail -n 2 "$OUT/$name.log" | tr '\n' ' ')"; done
[ "$status" -eq 0 ] || { echo "a training run failed: see $OUT/*.log" >&2; exit 1; }
echo "scoring on the CPU: python -m genlab quality $OUT/*.safetensors (and $OUT/*.epochs/ to choose an epoch)"
CUDA_VISIBLE_DEVICES= python -m genlab quality "$OUT"/gan_2d.safetensors "$OUT"/gan_3d.safetensors \
  "$OUT"/gan_4d.safetensors "$OUT"/cgan_3d.safetensors "$OUT"/cgan_3d_multiply.safetensors --samples "${SAMPLES:-10000}" --json "$OUT/quality.json" \
  ${QUALITY_ARGS:-}
