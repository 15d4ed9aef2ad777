"""Persistence: SQLAlchemy models, Alembic migrations, sessions, the inbox, the transition log,
derived requests and the processing pipeline. SQLite is the embedded default, PostgreSQL production.

Modules (see docs/architecture.md, "Store"):

- `baton.store.db`           URLs, engines, `session_scope`, `upgrade_database` (Alembic, from the package)
- `baton.store.models`       the schema; every table carries `site_id`
- `baton.store.delivery_row` `delivery_identity` (the idempotency key) and `delivery_row` (one inbox row), for both writers
- `baton.store.inbox`        `accept_delivery` (commits before the 2xx), `claim_pending` (SKIP LOCKED), retry, backlog
- `baton.store.inbox_writer` `InboxWriter`: the request path's group-commit writer of inbox rows
- `baton.store.transitions`  `record_extraction` (idempotent log, issue facts, statuses) and the engine's frames
- `baton.store.requests`     `replace_requests` / `load_requests_frame` (derived, recomputable)
- `baton.store.pipeline`     `process_deliveries` (the one processing path), `process_pending`, `ingest_extractions`, `rederive_*`, `sync_config`
"""
