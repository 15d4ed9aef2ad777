"""The PMO configuration: schema, loading with line numbers, semantic validation, ownership.

Public API (everything else in the package is an implementation detail):

    from config import load_config, ConfigError
    config = load_config("baton.yaml")          # -> BatonConfig, or raises ConfigError
    fingerprint(config)                         # stable hash; changes when the meaning changes
"""

from config.errors import ConfigError, Problem
from config.loader import fingerprint, load_config, load_config_text
from config.schema import BatonConfig
from config.validate import validate_config

__all__ = [
    "BatonConfig",
    "ConfigError",
    "Problem",
    "fingerprint",
    "load_config",
    "load_config_text",
    "validate_config",
]
