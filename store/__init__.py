"""Persistence: SQLAlchemy models, Alembic migrations, sessions, the inbox, the transition log,
derived requests and the processing pipeline. SQLite is the embedded default, PostgreSQL production.

Modules (see docs/architecture.md, "Store"):

- `baton.store.db`           URLs, engines, `session_scope`, `upgrade_database` (Alembic, from the package)
- `baton.store.models`       the schema; every table carries `site_id`
- `baton.store.inbox`        `accept_delivery` (commits before the 2xx), `claim_pending` (SKIP LOCKED), retry, backlog
- `baton.store.transitions`  `record_extraction` (idempotent log, issue facts, statuses) and the engine's frames
- `baton.store.requests`     `replace_requests` / `load_requests_frame` (derived, recomputable)
- `baton.store.pipeline`     `process_delivery`, `process_pending`, `ingest_extractions`, `rederive_*`, `sync_config`
"""
