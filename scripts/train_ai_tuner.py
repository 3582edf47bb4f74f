"""Train the AI tuner's network reproducibly and write controllers/ai_weights/.

Data: operating points sampled from a seeded generator over the dyno envelope of the
road car (speed 800-7000 rpm, manifold pressure 30-250 kPa, lambda error +-0.15, knock
0-2, coolant 60-120 degC, intake 10-70 degC, EGT 400-1000 degC). Targets are the
physics of the plant quantities (the plants package was not available when the weights
were produced, so the same relations are written here as formulas):

- fuel correction [%] = 100 * (lambda_measured / lambda_target - 1): fuel needed scales
  with 1 / lambda at constant air (speed-density), so a 5 % lean cell needs 5 % fuel;
- spark correction [deg] = -4 * clip(knock - 0.7, 0, 1.5) (knock-limited spark)
  - 0.03 * max(0, T_intake - 45) - 0.02 * max(0, T_coolant - 100) (knock rises with
  charge and wall temperature) + 0.5 * (1 - clip(knock / 0.5, 0, 1)) (room towards MBT
  when knock-free), clipped to +-3 deg.

Model: 7 -> 16 tanh -> 2, float64, Xavier-uniform init from the seed, full-batch Adam
(lr 0.01) on the mean squared error of the scaled outputs (fuel / 5 %, spark / 3 deg).
Same seed, same numpy -> the same weights bit for bit (tests/controllers check this).

    .venv/bin/python scripts/train_ai_tuner.py            # writes the shipped weights
    .venv/bin/python scripts/train_ai_tuner.py --out DIR  # somewhere else
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

from controllers.ai_tuner import FEATURE_SCALE, FEATURES, OUTPUT_SCALE, WEIGHTS_DIR

SEED = 20240611
SAMPLES = 4000
EPOCHS = 1500
HIDDEN = 16
LR = 0.01


def generate_data(seed: int = SEED, n: int = SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rpm = rng.uniform(800, 7000, n)
    load = rng.uniform(30, 250, n)
    lam_t = np.where(load > 110, 1.0 - (load - 110) / 140 * 0.16, 1.0)
    lam_err = rng.uniform(-0.15, 0.15, n)
    knock = rng.uniform(0.0, 2.0, n)
    coolant = rng.uniform(60, 120, n)
    intake = rng.uniform(10, 70, n)
    egt = rng.uniform(400, 1000, n)
    fuel = 100.0 * ((lam_t + lam_err) / lam_t - 1.0)
    spark = (-4.0 * np.clip(knock - 0.7, 0.0, 1.5) - 0.03 * np.maximum(0.0, intake - 45.0)
             - 0.02 * np.maximum(0.0, coolant - 100.0)
             + 0.5 * (1.0 - np.clip(knock / 0.5, 0.0, 1.0)))
    spark = np.clip(spark, -3.0, 3.0)
    x = np.stack([rpm, load, lam_err, knock, coolant, intake, egt], axis=1) / FEATURE_SCALE
    y = np.stack([fuel, spark], axis=1) / OUTPUT_SCALE
    return x, y


def train(seed: int = SEED, n: int = SAMPLES, epochs: int = EPOCHS, hidden: int = HIDDEN,
          lr: float = LR) -> tuple[dict[str, np.ndarray], float]:
    """Weights and the final training loss (MSE of scaled outputs)."""
    x, y = generate_data(seed, n)
    rng = np.random.default_rng(seed + 1)
    d_in, d_out = x.shape[1], y.shape[1]
    lim1 = np.sqrt(6.0 / (d_in + hidden))
    lim2 = np.sqrt(6.0 / (hidden + d_out))
    p = {"w1": rng.uniform(-lim1, lim1, (hidden, d_in)), "b1": np.zeros(hidden),
         "w2": rng.uniform(-lim2, lim2, (d_out, hidden)), "b2": np.zeros(d_out)}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(val) for k, val in p.items()}
    b1, b2, eps = 0.9, 0.999, 1e-8
    loss = float("nan")
    for t in range(1, epochs + 1):
        h = np.tanh(x @ p["w1"].T + p["b1"])
        out = h @ p["w2"].T + p["b2"]
        err = out - y
        loss = float(np.mean(err ** 2))
        g_out = 2.0 * err / err.size
        grads = {"w2": g_out.T @ h, "b2": g_out.sum(axis=0)}
        g_h = (g_out @ p["w2"]) * (1.0 - h ** 2)
        grads["w1"] = g_h.T @ x
        grads["b1"] = g_h.sum(axis=0)
        for k in p:
            m[k] = b1 * m[k] + (1 - b1) * grads[k]
            v[k] = b2 * v[k] + (1 - b2) * grads[k] ** 2
            mh = m[k] / (1 - b1 ** t)
            vh = v[k] / (1 - b2 ** t)
            p[k] = p[k] - lr * mh / (np.sqrt(vh) + eps)
    return p, loss


def digest(weights: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for k in sorted(weights):
        h.update(k.encode())
        h.update(np.ascontiguousarray(weights[k], dtype=np.float64).tobytes())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    weights, loss = train(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(args.out / "ai_tuner.npz", **weights)
    meta = {"model": "mlp 7-16(tanh)-2, float64", "features": list(FEATURES),
            "feature_scale": FEATURE_SCALE.tolist(), "output_scale": OUTPUT_SCALE.tolist(),
            "outputs": ["fuel_pct", "spark_deg"], "seed": args.seed, "samples": SAMPLES,
            "epochs": EPOCHS, "optimizer": f"adam lr={LR}", "loss": "mse of scaled outputs",
            "final_loss": loss, "data": "physics formulas of scripts/train_ai_tuner.py "
            "(plants package not available at training time)",
            "sha256": digest(weights), "numpy": np.__version__,
            "command": "python scripts/train_ai_tuner.py"}
    (args.out / "ai_tuner.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(f"final loss {loss:.6g}, sha256 {meta['sha256'][:16]}..., written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
