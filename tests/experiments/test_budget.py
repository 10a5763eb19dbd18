"""The compute budget: a cell's core-hours and the table of docs/results.md."""

from __future__ import annotations

from experiments.budget import budget_markdown, cell_hours


def test_a_resumed_run_counts_its_whole_training_and_other_cells_their_own_time():
    assert cell_hours({"cell_s": 231.0, "train_s": 766.0}) == 766.0 / 3600  # killed, resumed: the run's clock
    assert cell_hours({"cell_s": 7200.0, "train_s": 7000.0}) == 2.0  # evaluation on top of training
    assert cell_hours({"cell_s": 36.0}) == 0.01  # a baseline: no training
    assert cell_hours({"cell_s": None, "train_s": None}) == 0.0


def test_the_budget_table_sums_the_sweeps_against_the_budget():
    rows = [
        {"sweep": "a", "title": "A", "done": 3, "cells": 4, "hours": 1.25},
        {"sweep": "b", "title": "B", "done": 0, "cells": 2, "hours": 0.0},
    ]
    text = budget_markdown(rows, budget=10)
    assert "| `a`: A | 3 of 4 | 1.25 |" in text and "| `b`: B | 0 of 2 | 0.00 |" in text
    assert text.rstrip().endswith("| **all** | | **1.25 of about 10** |")
