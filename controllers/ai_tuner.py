"""AI tuner (100 ms): a small neural network recommends fuel and spark cell corrections.

The network (7 features -> 16 tanh -> 2, numpy, float64) is shipped in
``controllers/ai_weights/ai_tuner.npz`` with its metadata (``ai_tuner.json``: data,
seed, loss); ``scripts/train_ai_tuner.py`` reproduces it bit for bit from the seed.

Features of the operating point (:func:`features`): speed, manifold pressure, lambda
error, knock intensity, coolant, intake-air and exhaust temperatures. Outputs: fuel
correction [%] and spark correction [deg] for the cell nearest the operating point.

Flow ("human override" of the n.Tec design): every ``ai_interval`` in steady, fault-free
NORMAL operation a recommendation is made, checked against the parameter bounds
(``ai_max_fuel``, ``ai_max_spark``, the tuner's total bounds) and a physics sanity check
(a lean engine is not leaned further, a knocking one not advanced, spark stays at or
below MBT -- an advance is first limited to the room below MBT -- and the predicted
lambda stays in 0.7..1.3). A failing one is REJECTED; a passing
one is STAGED under an id (1..255, published with its fuel correction) and applied when
the bench approves it (rising edge of AiTunerApprove with AiTunerApproveId equal to the
id or 0) or at once when the calibration sets ``ai_auto_apply``. AiTunerReject rejects
it; it expires after ``ai_stage_timeout``. Every applied recommendation is audited
through the calibration's adaptation log.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from controllers.base import Controller
from controllers.codes import AiTunerState, EngineMode, Fault, RxStatus

WEIGHTS_DIR = Path(__file__).resolve().parent / "ai_weights"
WEIGHTS_FILE = WEIGHTS_DIR / "ai_tuner.npz"
FEATURES = ("rpm", "load_kpa", "lambda_error", "knock", "coolant_c", "intake_c", "egt_c")
# Fixed feature scaling, part of the model definition (not learnt).
FEATURE_SCALE = np.array([7000.0, 250.0, 0.1, 1.0, 100.0, 100.0, 1000.0])
OUTPUT_SCALE = np.array([5.0, 3.0])       # fuel %, spark deg
IGNORED_FAULTS = int(Fault.PERSIST_DROPPED)


def features(rpm: float, load_kpa: float, lambda_error: float, knock: float,
             coolant_c: float, intake_c: float, egt_c: float) -> np.ndarray:
    return np.array([rpm, load_kpa, lambda_error, knock, coolant_c, intake_c, egt_c],
                    dtype=np.float64) / FEATURE_SCALE


class TunerNet:
    """7 -> 16 tanh -> 2 multilayer perceptron; ``predict`` returns (fuel %, spark deg)."""

    def __init__(self, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray) -> None:
        self.w1, self.b1, self.w2, self.b2 = w1, b1, w2, b2

    @classmethod
    def load(cls, path: str | Path = WEIGHTS_FILE) -> TunerNet:
        with np.load(path) as z:
            return cls(z["w1"], z["b1"], z["w2"], z["b2"])

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Scaled outputs for scaled features (rows)."""
        return np.tanh(x @ self.w1.T + self.b1) @ self.w2.T + self.b2

    def predict(self, x: np.ndarray) -> tuple[float, float]:
        y = self.forward(x) * OUTPUT_SCALE
        return float(y[0]), float(y[1])


def metadata(path: Path = WEIGHTS_DIR / "ai_tuner.json") -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


class AiTuner(Controller):
    period = 0.1
    inputs = ("EngineSpeed", "ManifoldPressure", "Lambda", "LambdaTarget", "KnockIntensity",
              "CoolantTemp", "IntakeAirTemp", "ExhaustGasTemp", "FaultCodes", "EngineMode",
              "PlantTemps_RxStatus", "AiTunerApprove", "AiTunerReject", "AiTunerApproveId")
    outputs = ("AiTunerState", "AiRecommendationId", "AiRecommendationFuelPct",
               "AiRecommendationSparkDeg")
    defaults = {"AiTunerState": 0.0, "AiRecommendationId": 0.0,
                "AiRecommendationFuelPct": 0.0, "AiRecommendationSparkDeg": 0.0}
    options = {"weights": None}

    def __init__(self, calibration, **options) -> None:
        super().__init__(calibration, **options)
        cal = self.calibration
        self._s = cal.scalars
        self.net = TunerNet.load(self.opts["weights"] or WEIGHTS_FILE)
        self._mbt, self._kls = cal.maps["spark_mbt"], cal.maps["spark_knock_limit"]
        self.state = AiTunerState.IDLE if self._s["ai_enabled"] >= 0.5 else AiTunerState.OFF
        self.rec_id = 0
        self.fuel_pct = 0.0
        self.spark_deg = 0.0
        self.cell = (0, 0)
        self.reason = ""
        self.applied = 0
        self.rejected = 0
        self._staged_at = 0.0
        self._last_rec = -1e9
        self._prev_approve = 0.0
        self._prev_reject = 0.0

    # -- recommendation ------------------------------------------------------------

    def check(self, fuel: float, spark: float, cell: tuple[int, int], lam: float,
              lam_target: float, knock: float) -> str:
        """'' when the recommendation passes bounds and physics, else why not."""
        s = self._s
        adapt = self.calibration.adapt
        i, j = cell
        if abs(fuel) > s["ai_max_fuel"]:
            return f"fuel {fuel:+.2f} % beyond ai_max_fuel"
        if abs(spark) > s["ai_max_spark"]:
            return f"spark {spark:+.2f} deg beyond ai_max_spark"
        if abs(adapt.fuel_pct.z[j][i] + fuel) > s["tuner_fuel_max"]:
            return "fuel cell would exceed tuner_fuel_max"
        if abs(adapt.spark_deg.z[j][i] + spark) > s["tuner_spark_max"]:
            return "spark cell would exceed tuner_spark_max"
        err = lam - lam_target
        if err > 0.02 and fuel < 0.0:
            return "physics: engine is lean, recommendation removes fuel"
        if err < -0.02 and fuel > 0.0:
            return "physics: engine is rich, recommendation adds fuel"
        if knock > 1.0 and spark > 0.0:
            return "physics: engine knocks, recommendation advances spark"
        mbt, kls = self._mbt.z[j][i], self._kls.z[j][i]
        if min(mbt, kls) + adapt.spark_deg.z[j][i] + spark > mbt + 1e-9:
            return "physics: spark beyond MBT"
        lam_new = lam / (1.0 + fuel / 100.0)
        if not 0.7 <= lam_new <= 1.3:
            return f"physics: predicted lambda {lam_new:.2f} outside 0.7..1.3"
        return ""

    def _apply(self, now: float, why: str) -> None:
        adapt = self.calibration.adapt
        i, j = self.cell
        by = f"ai_tuner#{self.rec_id}"
        adapt.set_cell(adapt.fuel_pct, i, j, adapt.fuel_pct.z[j][i] + self.fuel_pct, by=by,
                       why=f"{why}: fuel {self.fuel_pct:+.2f} %", at=now)
        adapt.set_cell(adapt.spark_deg, i, j, adapt.spark_deg.z[j][i] + self.spark_deg, by=by,
                       why=f"{why}: spark {self.spark_deg:+.2f} deg", at=now)
        self.applied += 1
        self.state = AiTunerState.APPLIED

    def _recommend(self, g, now: float) -> None:
        s = self._s
        rpm, p_im = g("EngineSpeed", 0.0), g("ManifoldPressure", 100.0)
        lam, lam_t, knock = g("Lambda", 1.0), g("LambdaTarget", 1.0), g("KnockIntensity", 0.0)
        x = features(rpm, p_im, lam - lam_t, knock, g("CoolantTemp", 20.0),
                     g("IntakeAirTemp", 25.0), g("ExhaustGasTemp", 500.0))
        fuel, spark = self.net.predict(x)
        self._last_rec = now
        if abs(fuel) < 0.2 and abs(spark) < 0.1:
            return                                      # nothing worth a human's time
        self.rec_id = self.rec_id % 255 + 1
        self.fuel_pct = round(max(-12.8, min(12.7, fuel)), 1)
        self.cell = i, j = self.calibration.maps["ve"].cell(rpm, p_im)
        # Advancing past MBT only costs torque: limit an advance to the room below MBT.
        mbt, kls = self._mbt.z[j][i], self._kls.z[j][i]
        room = mbt - (min(mbt, kls) + self.calibration.adapt.spark_deg.z[j][i])
        if spark > room:
            spark = max(0.0, room)
        self.spark_deg = spark
        self.reason = self.check(self.fuel_pct, spark, self.cell, lam, lam_t, knock)
        if self.reason:
            self.rejected += 1
            self.state = AiTunerState.REJECTED
        elif s["ai_auto_apply"] >= 0.5:
            self._apply(now, "auto_apply")
        else:
            self.state = AiTunerState.STAGED
            self._staged_at = now

    def step(self, signals: Mapping[str, float], now: float) -> dict[str, float]:
        g = signals.get
        s = self._s
        approve, reject = g("AiTunerApprove", 0.0), g("AiTunerReject", 0.0)
        approve_edge = approve >= 0.5 > self._prev_approve
        reject_edge = reject >= 0.5 > self._prev_reject
        self._prev_approve, self._prev_reject = approve, reject
        if self.state != AiTunerState.OFF:
            if self.state == AiTunerState.STAGED:
                ref = int(g("AiTunerApproveId", 0.0))
                matches = ref in (0, self.rec_id)
                if reject_edge and matches:
                    self.rejected += 1
                    self.reason = "rejected by the bench"
                    self.state = AiTunerState.REJECTED
                elif approve_edge and matches:
                    self._apply(now, "approved by the bench")
                elif now - self._staged_at > s["ai_stage_timeout"]:
                    self.state = AiTunerState.IDLE
            ok = (int(g("FaultCodes", 0.0)) & ~IGNORED_FAULTS) == 0 \
                and g("EngineMode", 0.0) == EngineMode.NORMAL \
                and g("PlantTemps_RxStatus", 0.0) == RxStatus.OK \
                and g("EngineSpeed", 0.0) > 700.0
            if (ok and self.state != AiTunerState.STAGED
                    and now - self._last_rec >= s["ai_interval"]):
                self._recommend(g, now)
        staged = self.state == AiTunerState.STAGED
        return {"AiTunerState": float(self.state), "AiRecommendationId": float(self.rec_id),
                "AiRecommendationFuelPct": self.fuel_pct if staged or self.rec_id else 0.0,
                "AiRecommendationSparkDeg": self.spark_deg}
