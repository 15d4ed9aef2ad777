"""Configuration workbench benchmark: `python -m bench.config` (see bench/README.md, section Config)."""
