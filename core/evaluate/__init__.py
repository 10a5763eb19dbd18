"""Evaluation of encoders.

Evaluation of encoders: the evaluator (clean embeddings and scores), offline linear evaluation and fine-tuning,
embeddings to disk, and the guard that keeps a checkpoint off the clips it learned from. The probes and metrics
themselves are in :mod:`core.probes`.
"""
