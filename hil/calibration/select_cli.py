"""``hil run --changed-since``: narrow the checked scenario files to those a calibration
change can affect, and say why for each one (hil.calibration.diff)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def narrow(scenarios: list[Any], files: list[Path], args: argparse.Namespace) -> list[Path]:
    from hil.calibration.diff import calibration_of, controllers_parser, select

    decisions, diffs = select(scenarios, args.changed_since, args.report, calibration_of(args.rig),
                       controllers_parser(args.rig))
    for change in diffs:
        print(f"hil run: --changed-since {args.changed_since}: {change.describe()}",
              file=sys.stderr)
    chosen = []
    width = max(len(d.scenario) for d in decisions)
    for f, d in zip(files, decisions, strict=True):
        print(f"hil run: {'select' if d.selected else 'skip  '} {d.scenario:{width}s}  "
              f"{d.reason}", file=sys.stderr)
        if d.selected:
            chosen.append(f)
    print(f"hil run: --changed-since {args.changed_since}: {len(chosen)} of {len(decisions)} "
          "scenario(s) selected", file=sys.stderr)
    if not chosen:
        print("hil run: nothing to run: no scenario can be affected by the change",
              file=sys.stderr)
    return chosen
