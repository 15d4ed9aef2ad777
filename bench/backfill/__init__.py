"""Backfill benchmark: `python -m bench.backfill` (see bench/README.md, section "Backfill")."""
