"""Shared fixtures of the controller tests: a fresh calibration per test."""

from __future__ import annotations

import pytest

from controllers.basemap import Calibration, load_calibration


@pytest.fixture
def cal() -> Calibration:
    return load_calibration("road_car")


@pytest.fixture
def race_cal() -> Calibration:
    return load_calibration("race_car")

