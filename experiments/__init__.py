"""Resumable experiment sweeps that test CLAR's claims on real data (``python -m experiments``).

Each experiment is a folder here holding ``sweep.yaml`` (its arms, seeds and comparisons) and the training configs
its arms use. :mod:`experiments.sweep` runs the cells (arm x seed) one by one and records each in a manifest, so a
killed sweep continues where it stopped: finished cells are skipped, an unfinished run resumes from its last
checkpoint. :mod:`experiments.report` turns the manifest into tables, verdicts and figures.
"""
