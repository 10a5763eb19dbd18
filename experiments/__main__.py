"""``python -m experiments``: run, resume and report the sweeps that test CLAR's claims."""

from __future__ import annotations

from experiments.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
