import pytest
from plant_checks import assert_physical

from plants import build_plant


@pytest.fixture
def road():
    return build_plant("road_car", seed=0)


@pytest.fixture
def race():
    return build_plant("race_car", seed=0)


@pytest.fixture
def physical():
    return assert_physical
