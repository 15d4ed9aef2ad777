"""Engine benchmark: `python -m bench.engine` (see bench/README.md, section Engine)."""
