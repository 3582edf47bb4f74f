"""pytest plugin: scenarios are collected as pytest items (ARCHITECTURE.md "pytest plugin").

Registered through the ``pytest11`` entry point, so ``pytest scenarios/`` works in
any checkout where the bench is installed.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ntec-hil", "n.Tec HIL bench scenarios")
    group.addoption("--rig", default=None, help="rig file for scenarios that name none "
                    "(default rigs/sil.yaml)")
    group.addoption("--hil-report", default="reports", help="directory for traces, plots and "
                    "the HTML summary (default reports/)")
