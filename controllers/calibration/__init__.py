"""The shipped calibration sets (YAML). Importable so that the bench's default loader
name, ``controllers.calibration:load_calibration``, resolves to the real loader."""

from controllers.basemap import load_calibration, loads_calibration

__all__ = ["load_calibration", "loads_calibration"]
