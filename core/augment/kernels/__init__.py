"""Pure, batched signal-processing kernels behind the augmentations (no randomness, no parameter drawing)."""
