"""hil.config.registry: names in YAML -> objects, by 'module:Name' or by entry point."""

from __future__ import annotations

import pytest

from controllers.safety import SafetyFast
from hil.config import registry
from hil.config.registry import GROUPS, resolve
from hil.errors import ConfigError


@pytest.fixture
def distribution(tmp_path, monkeypatch):
    """Install a real (metadata-only) distribution declaring entry points, on sys.path."""
    def install(entry_points: str) -> None:
        info = tmp_path / "ntec_test_plugins-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ntec-test-plugins\n"
                                       "Version: 1.0\n", encoding="utf-8")
        (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")
        monkeypatch.syspath_prepend(str(tmp_path))
        registry._entry_points.cache_clear()

    yield install
    registry._entry_points.cache_clear()


def test_module_path_resolves_to_the_object():
    assert resolve("controllers.safety:SafetyFast") is SafetyFast


def test_module_path_for_plants():
    from plants import build_plant

    assert resolve("plants:build_plant", kind="plants") is build_plant


def test_unknown_attribute_names_the_closest():
    with pytest.raises(ConfigError) as err:
        resolve("controllers.safety:SafetyFst")
    assert str(err.value) == ("'controllers.safety' has no 'SafetyFst' "
                              "(did you mean 'SafetyFast'?)")


def test_unknown_attribute_without_a_close_name():
    with pytest.raises(ConfigError) as err:
        resolve("controllers.safety:Zzzzzz")
    assert str(err.value) == "'controllers.safety' has no 'Zzzzzz'"


def test_private_names_are_not_suggested():
    with pytest.raises(ConfigError) as err:
        resolve("hil.config.registry:entry_point")
    assert "did you mean 'entry_points'?" in str(err.value)
    assert "_entry_points" not in str(err.value)


def test_unknown_module():
    with pytest.raises(ConfigError) as err:
        resolve("controllers.safty:SafetyFast")
    assert str(err.value).startswith("cannot import 'controllers.safty' for "
                                     "'controllers.safty:SafetyFast': No module named")


def test_a_module_that_imports_something_missing(tmp_path, monkeypatch):
    (tmp_path / "ntec_broken_controller.py").write_text("import ntec_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError) as err:
        resolve("ntec_broken_controller:Thing")
    assert "No module named 'ntec_not_installed'" in str(err.value)
    assert str(err.value).startswith("cannot import 'ntec_broken_controller'")


@pytest.mark.parametrize("ref", ["", None, 3, ["controllers.safety:SafetyFast"]])
def test_not_a_reference(ref):
    with pytest.raises(ConfigError) as err:
        resolve(ref)
    assert str(err.value) == (f"expected 'module:Name' or a registered controllers name, "
                              f"got {ref!r}")


def test_short_name_through_an_entry_point(distribution):
    distribution("[ntec_hil.controllers]\n"
                 "safety_fast = controllers.safety:SafetyFast\n"
                 "[ntec_hil.plants]\n"
                 "build = plants:build_plant\n")
    from plants import build_plant

    assert resolve("safety_fast") is SafetyFast
    assert resolve("build", kind="plants") is build_plant


def test_unknown_short_name_names_the_closest_and_the_group(distribution):
    distribution("[ntec_hil.controllers]\nsafety_fast = controllers.safety:SafetyFast\n")
    with pytest.raises(ConfigError) as err:
        resolve("safety_fst")
    assert str(err.value) == ("unknown controllers name 'safety_fst' (did you mean "
                              "'safety_fast'?); use 'module:Name' or register an entry point "
                              "in group 'ntec_hil.controllers'")


def test_short_names_are_looked_up_in_their_own_group(distribution):
    distribution("[ntec_hil.plants]\nsafety_fast = controllers.safety:SafetyFast\n")
    with pytest.raises(ConfigError, match="unknown controllers name 'safety_fast';"):
        resolve("safety_fast")


def test_a_kind_without_a_group_uses_its_name_as_the_group(distribution):
    distribution("[ntec_hil.writers]\nsafety = controllers.safety:SafetyFast\n")
    assert "writers" not in GROUPS
    assert resolve("safety", kind="ntec_hil.writers") is SafetyFast
    with pytest.raises(ConfigError, match="in group 'ntec_hil.writers'$"):
        resolve("nothing_close_here", kind="ntec_hil.writers")


def test_the_groups_the_bench_reads():
    assert GROUPS == {"controllers": "ntec_hil.controllers", "plants": "ntec_hil.plants"}
