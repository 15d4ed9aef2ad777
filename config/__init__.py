"""The PMO configuration: schema, loading with line numbers, semantic validation, ownership.

Public API (everything else in the package is an implementation detail):

    from baton.config import load_config, ConfigError
    config = load_config("baton.yaml")          # -> BatonConfig, or raises ConfigError
    fingerprint(config)                         # stable hash; changes when the meaning changes
"""

from baton.config.errors import ConfigError, Problem
from baton.config.loader import fingerprint, load_config, load_config_text
from baton.config.schema import BatonConfig
from baton.config.validate import validate_config

__all__ = [
    "BatonConfig",
    "ConfigError",
    "Problem",
    "fingerprint",
    "load_config",
    "load_config_text",
    "validate_config",
]
