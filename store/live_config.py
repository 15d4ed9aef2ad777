"""Which PMO configuration a site's numbers are under: the per-site resolver (issue 15).

Precedence (docs/configuration.md, "Precedence"):

1. **Configuration as code**: a service started with `--config FILE` (`as_code=True`) uses the file for
   every site; published versions are stored but not applied.
2. Otherwise a site's **published versions** rule: its stored requests are derived under
   `applied_version` (`baton.store.config_versions.applied_version`), and a newer published version
   takes over when its re-derivation swaps the numbers in (`baton.store.rederive.apply_pending`).
   Until then readers and the processing path keep the applied one, so the numbers and the
   configuration they are read with always belong together.
3. A site with no applied version falls back to the file default (`$BATON_CONFIG`), or to None
   (deliveries are stored, not processed).

Parsed configurations are cached by (site, version): versions never change once published.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from baton.config import fingerprint
from baton.config.schema import BatonConfig
from baton.store import config_versions


class SiteConfigs(Protocol):
    """Anything that says which configuration a site's requests are derived under."""

    def for_site(self, session: Session, site: str) -> BatonConfig | None: ...


@dataclass(frozen=True)
class Resolved:
    config: BatonConfig | None
    version: int | None
    """The published version in force; None: the file (or nothing)."""
    source: str
    """`file` (configuration as code, or no version applied yet), `published`, or `none`."""

    @property
    def fingerprint(self) -> str | None:
        return None if self.config is None else fingerprint(self.config)


class ConfigResolver:
    """Per-site configuration: the file when `as_code`, else the site's applied published version, else
    the file default. Thread-safe; safe to share by the API, the drainer and the CLI of one process."""

    def __init__(self, file_config: BatonConfig | None, *, as_code: bool = False) -> None:
        self.file_config = file_config
        self.as_code = as_code
        self._cache: dict[tuple[str, int], BatonConfig] = {}
        self._lock = threading.Lock()

    def version_config(self, session: Session, site: str, number: int) -> BatonConfig:
        """Version `number` of `site`, parsed once per process."""
        key = (site, number)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        config = config_versions.get(session, site, number).config()
        with self._lock:
            self._cache[key] = config
        return config

    def resolve(self, session: Session, site: str) -> Resolved:
        if not self.as_code:
            number = config_versions.applied_version(session, site)
            if number is not None:
                return Resolved(self.version_config(session, site, number), number, "published")
        if self.file_config is None:
            return Resolved(None, None, "none")
        return Resolved(self.file_config, None, "file")

    def for_site(self, session: Session, site: str) -> BatonConfig | None:
        return self.resolve(session, site).config


class FixedConfig:
    """One configuration for every site (the behaviour before versions; tests and benchmarks)."""

    def __init__(self, config: BatonConfig | None) -> None:
        self.config = config

    def for_site(self, session: Session, site: str) -> BatonConfig | None:
        return self.config


def as_site_configs(config: BatonConfig | SiteConfigs | None) -> SiteConfigs:
    """A resolver for `config`: itself when it is one, else `FixedConfig(config)`."""
    if config is None or isinstance(config, BatonConfig):
        return FixedConfig(config)
    return config


__all__ = ["ConfigResolver", "FixedConfig", "Resolved", "SiteConfigs", "as_site_configs"]
