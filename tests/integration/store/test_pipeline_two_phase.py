"""`process_deliveries` records the log, derives holding no write lock, then stores the requests and
marks the deliveries (store/pipeline.py's docstring). Two things can happen between the phases; each
must end exactly as an uninterrupted run does:
- the process dies after the log is recorded (the delivery is processed again later, its transitions
  are duplicates by then, and its issue must still be derived);
- another writer records more of the same issue's log (the stale derivation must not be stored).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from baton.store import inbox, pipeline
from baton.store.requests import load_requests_frame
from baton.store.transitions import load_transitions_frame
from tests.integration.store.test_pipeline import LIFECYCLE, MATTERMOST, _accept_file, _config, _signature


class Killed(BaseException):
    """Stands for the process dying: no `except Exception` catches it."""


def _reference(engine: Engine, session: Session, site: str, names: list[str]) -> list[tuple[object, ...]]:
    """The requests of an uninterrupted run over the same deliveries, on a fresh site."""
    other = f"{site}-reference"
    for name in names:
        _accept_file(session, other, MATTERMOST / name)
    pipeline.process_pending(engine, _config(), site_id=other)
    return _signature(load_requests_frame(session, other))


def test_a_process_killed_between_recording_and_deriving_loses_no_request(
    engine: Engine, session: Session, site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _accept_file(session, site, MATTERMOST / LIFECYCLE[0])
    assert pipeline.process_delivery(session, first, _config()).state == "done"
    second = _accept_file(session, site, MATTERMOST / LIFECYCLE[1])

    def die(*args: Any, **kwargs: Any) -> Any:
        raise Killed

    monkeypatch.setattr(pipeline, "_derive_outside_the_write_lock", die)
    with pytest.raises(Killed):
        pipeline.process_delivery(session, second, _config())
    session.rollback()
    monkeypatch.undo()
    assert len(load_transitions_frame(session, site)) == 2  # recorded and committed
    assert len(load_requests_frame(session, site)) == 1  # derived before the second delivery only
    row = inbox.get_delivery(session, second)
    assert row is not None and (row.state, row.attempts) == ("pending", 1)  # not finished

    outcome = pipeline.process_delivery(session, second, _config())  # its transitions are duplicates now
    assert (outcome.state, outcome.inserted, outcome.duplicates) == ("done", 0, 1)
    assert _signature(load_requests_frame(session, site)) == _reference(engine, session, site, LIFECYCLE[:2])


def test_a_log_changed_by_another_writer_during_derivation_is_derived_again_under_the_lock(
    engine: Engine, session: Session, site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _accept_file(session, site, MATTERMOST / LIFECYCLE[0])
    assert pipeline.process_delivery(session, first, _config()).state == "done"
    second = _accept_file(session, site, MATTERMOST / LIFECYCLE[1])
    third = _accept_file(session, site, MATTERMOST / LIFECYCLE[2])
    derive = pipeline._derive
    calls: list[int] = []

    def derive_while_another_writer_records(*args: Any, **kwargs: Any) -> pd.DataFrame:
        calls.append(len(args[0]))  # transitions in the log this derivation read
        if len(calls) == 1:  # between this read and the write, the third delivery is processed
            with Session(engine) as other:
                monkeypatch.setattr(pipeline, "_derive", derive)
                assert pipeline.process_delivery(other, third, _config()).state == "done"
                monkeypatch.setattr(pipeline, "_derive", derive_while_another_writer_records)
        return derive(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_derive", derive_while_another_writer_records)
    assert pipeline.process_delivery(session, second, _config()).state == "done"
    assert calls == [2, 3]  # the stale derivation (2 transitions) was done again from 3, under the lock
    assert _signature(load_requests_frame(session, site)) == _reference(engine, session, site, LIFECYCLE[:3])


def _derivations_when_another_writer_commits(
    engine: Engine, session: Session, site: str, monkeypatch: pytest.MonkeyPatch, statement: str
) -> list[int]:
    """Process the lifecycle's second delivery while, during its first derivation (no lock held),
    another connection commits `statement` (`:site` bound); the transitions each derivation read."""
    from sqlalchemy import text

    first = _accept_file(session, site, MATTERMOST / LIFECYCLE[0])
    assert pipeline.process_delivery(session, first, _config()).state == "done"
    second = _accept_file(session, site, MATTERMOST / LIFECYCLE[1])
    derive = pipeline._derive
    calls: list[int] = []

    def derive_while_another_writer_commits(*args: Any, **kwargs: Any) -> pd.DataFrame:
        calls.append(len(args[0]))
        if len(calls) == 1:
            with engine.begin() as other:
                assert other.execute(text(statement), {"site": site}).rowcount == 1
        return derive(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_derive", derive_while_another_writer_commits)
    outcome = pipeline.process_delivery(session, second, _config())
    assert outcome.state == "done", outcome.error
    return calls


def test_a_verdict_recorded_during_derivation_has_the_issue_derived_again_under_the_lock(
    engine: Engine, session: Session, site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verdicts, like transitions, are compared by their number and highest id (`_LogVersion`)."""
    calls = _derivations_when_another_writer_commits(
        engine,
        session,
        site,
        monkeypatch,
        "INSERT INTO verdicts (site_id, issue_id, team, at, account, action, source, recorded_at) "
        "SELECT site_id, issue_id, 'qa', CURRENT_TIMESTAMP, 'someone', 'accept', 'cli', CURRENT_TIMESTAMP "
        "FROM issues WHERE site_id = :site",
    )
    assert calls == [2, 2]


def test_issue_facts_changed_during_derivation_have_the_issue_derived_again_under_the_lock(
    engine: Engine, session: Session, site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue facts are updated in place, so they are compared whole."""
    calls = _derivations_when_another_writer_commits(
        engine, session, site, monkeypatch, "UPDATE issues SET priority = 'Blocker' WHERE site_id = :site"
    )
    assert calls == [2, 2]


def test_an_unchanged_log_is_not_read_or_derived_again_under_the_lock(
    session: Session, site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The common case: under the lock only the log's version is read (`_LogVersion`), never its
    transitions, and the derivation made without the lock is stored."""
    first = _accept_file(session, site, MATTERMOST / LIFECYCLE[0])
    assert pipeline.process_delivery(session, first, _config()).state == "done"
    second = _accept_file(session, site, MATTERMOST / LIFECYCLE[1])
    reads: list[int] = []
    load = pipeline.load_transition_rows

    def counted(*args: Any, **kwargs: Any) -> list[tuple[object, ...]]:
        reads.append(1)
        return load(*args, **kwargs)

    monkeypatch.setattr(pipeline, "load_transition_rows", counted)
    assert pipeline.process_delivery(session, second, _config()).state == "done"
    assert len(reads) == 1
