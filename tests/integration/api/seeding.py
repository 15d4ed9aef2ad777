"""A small deterministic seed for the API and browser tests: the demo configuration, a seeded
simulated history (scoring.simulate), requests derived by scoring.engine and stored with
store.requests, on two sites (so isolation can be checked), with a frozen `now`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[3]
DEMO_CONFIG = ROOT / "config" / "examples" / "demo.yaml"
NOW = datetime(2026, 3, 18, 11, 30, tzinfo=UTC)  # a Wednesday: open clocks are running
SITE_A = "acme"
SITE_B = "globex"
BASE_A = "https://acme.atlassian.net"
BASE_B = "https://globex.atlassian.net"


@dataclass(frozen=True)
class Seeded:
    config_path: Path
    now: datetime
    requests_a: int
    requests_b: int


def seed(engine: Engine, n_issues: int = 160) -> Seeded:
    from baton.config.loader import load_config
    from baton.scoring import engine as scoring_engine
    from baton.scoring.simulate import simulate_frames, status_categories
    from baton.store.inbox import ensure_site
    from baton.store.requests import replace_requests

    config = load_config(DEMO_CONFIG)
    counts = []
    for site, base, seed_value, n in ((SITE_A, BASE_A, 11, n_issues), (SITE_B, BASE_B, 29, n_issues // 2)):
        transitions, issues = simulate_frames(
            config, n, seed=seed_value, start=NOW - timedelta(weeks=13), end=NOW
        )
        frame = scoring_engine.derive_requests(transitions, issues, config, status_categories(config))
        with Session(engine) as session:
            ensure_site(session, site, name=site.title(), base_url=base)
            replace_requests(session, site, issues["issue_id"].astype(str).tolist(), frame)
            session.commit()
        counts.append(len(frame))
    seed_unmatched(engine, SITE_A)
    _derived_under(engine, config, (SITE_A, SITE_B))
    return Seeded(DEMO_CONFIG, NOW, counts[0], counts[1])


def _derived_under(engine: Engine, config: object, sites: tuple[str, ...]) -> None:
    """Record that the seeded requests were derived under `config`, as `baton replay` does. Without it a
    server's start-up sync would find the sites stale and re-derive them from their log, which holds no
    transition of the simulated issues (their requests are stored directly), so it would empty them."""
    from sqlalchemy import update

    from baton.store.models import Site
    from baton.store.pipeline import config_fingerprint

    with Session(engine) as session:
        session.execute(
            update(Site).where(Site.id.in_(sites)).values(config_fingerprint=config_fingerprint(config))  # type: ignore[arg-type]
        )
        session.commit()


UNMATCHED_A = {
    "total": 3,
    "rows": [
        {
            "project": "K5",
            "issue_type": "Story",
            "reason": "project",
            "count": 2,
            "examples": ["K5-2", "K5-3"],
        },
        {"project": None, "issue_type": "Epic", "reason": "no_project", "count": 1, "examples": ["K5-4"]},
    ],
}
"""What `seed_unmatched` stores, as the API reports it under the demo configuration."""


def seed_unmatched(engine: Engine, site: str) -> None:
    """Real recorded issues no demo process covers, stored through the store's recording path: DevLake's
    K5 issues (project K5), one of them as exported without `fields.project`. Their ids (207xx) are not the
    simulated ones (10000 on), so a re-derivation on start leaves the seeded requests alone."""
    import copy

    from baton.scoring.extract import extract_issue
    from baton.store.transitions import record_extraction
    from tests.recorded import devlake_issues

    with Session(engine) as session:
        for issue in devlake_issues():
            if not issue["key"].startswith("K5-"):
                continue
            if issue["key"] == "K5-4":
                issue = copy.deepcopy(issue)
                del issue["fields"]["project"]
            record_extraction(session, site, extract_issue(issue))
        session.commit()


REASONS_NOW = datetime(2026, 3, 6, 11, 0, tzinfo=UTC)
"""Friday noon in Berlin of docs/semantics.md's worked example, after Done."""
REASONS_REJECTED_AT = datetime(2026, 3, 6, 8, 0, tzinfo=UTC)
"""Friday 09:00 in Berlin: ops sends qa's Q2 back."""
SENT_BACK = {"10001": "incomplete", "10002": "wrong environment", "10003": "incomplete"}
"""`seed_matrix_reasons`' verdicts: ops rejects Q2 of these issues (PROJ-1..3) with these reasons."""


def matrix_reasons_config(directory: Path) -> Path:
    """config/examples/delivery.yaml with `wrong environment` added to the rejection reasons, written to
    `directory`/pmo.yaml."""
    text = (ROOT / "config" / "examples" / "delivery.yaml").read_text()
    listed = "rejection_reasons: [incomplete, defects, undocumented]"
    assert listed in text
    path = directory / "pmo.yaml"
    path.write_text(text.replace(listed, listed[:-1] + ", wrong environment]"))
    return path


def seed_matrix_reasons(engine: Engine, config_path: Path, site: str = SITE_A) -> None:
    """Four copies of the worked example's PROJ-1 (issues 10001..10004, PROJ-1..PROJ-4) and ops's
    verdicts of `SENT_BACK`, recorded through the store as `baton verdict` records them: the hand-off
    matrix's dev -> qa cell has 2 x incomplete and 1 x wrong environment."""
    import dataclasses

    from baton.config.loader import load_config
    from baton.scoring.model import Extraction, Verdict, VerdictAction
    from baton.store.inbox import ensure_site
    from baton.store.pipeline import ingest_extractions
    from baton.store.verdicts import record_verdict
    from tests.unit.oracle.worked_example import FACTS, TRANSITIONS

    def copy(n: int) -> Extraction:
        issue_id, key = f"1000{n}", f"PROJ-{n}"
        log = tuple(dataclasses.replace(t, issue_id=issue_id, issue_key=key) for t in TRANSITIONS)
        return Extraction("backfill", log, dataclasses.replace(FACTS, issue_id=issue_id, issue_key=key))

    config = load_config(config_path)
    with Session(engine) as session:
        ensure_site(session, site, name=site.title(), base_url=BASE_A)
        ingest_extractions(session, site, [copy(n) for n in (1, 2, 3, 4)], "backfill", config)
        session.commit()
        for issue_id, reason in SENT_BACK.items():
            verdict = Verdict(
                issue_id, "ops", REASONS_REJECTED_AT, "ops-lead", VerdictAction.REJECT, reason=reason
            )
            record_verdict(session, site, verdict, config, source="cli")
        session.commit()
