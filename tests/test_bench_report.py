"""The bench's report is rendered from its data: ``results/latest.json`` -> ``latest.md``.

Both files are committed by a complete ``make bench`` run; rendering the JSON again with
today's :mod:`benchmarks.report` must give the committed Markdown byte for byte (no
normalisation), so a change to the report code that changes a figure or a line shows.
"""

from __future__ import annotations

import copy
import json

from benchmarks.config import RESULTS
from benchmarks.report import markdown, render


def load_latest() -> dict[str, object]:
    report: dict[str, object] = json.loads((RESULTS / "latest.json").read_text())
    return report


def test_latest_md_is_latest_json_rendered() -> None:
    expected = (RESULTS / "latest.md").read_text()
    assert markdown("latest", render(load_latest())) == expected


def test_a_changed_figure_changes_the_report() -> None:
    report = load_latest()
    changed = copy.deepcopy(report)
    table = changed["table"]
    assert isinstance(table, list)
    assert table
    table[0]["package"]["rps"] += 1000.0
    assert render(changed) != render(report)
