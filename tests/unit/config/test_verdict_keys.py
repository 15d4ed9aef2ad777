"""The verdict keys of a process and the satisfaction weight (docs/configuration.md)."""

from __future__ import annotations

from baton.config.schema import AccountMember, BatonConfig, GroupMember
from baton.config.validate import validate_config

BASE = {
    "calendars": {"c": "24x7"},
    "teams": {
        "dev": {"calendar": "c", "statuses": {"active": ["Dev"]}},
        "qa": {
            "calendar": "c",
            "statuses": {"active": ["QA"]},
            "members": [{"group": "jira-qa"}, {"account": "acc-1"}],
        },
    },
    "processes": {"p": {"match": {"projects": ["P"]}, "stages": ["dev", "qa"]}},
}


def _config(process: dict[str, object], weights: dict[str, float] | None = None) -> BatonConfig:
    data: dict[str, object] = {**BASE, "processes": {"p": {**BASE["processes"]["p"], **process}}}  # type: ignore[dict-item]
    if weights is not None:
        data["scoring"] = {"weights": weights}
    return BatonConfig.model_validate(data)


def test_defaults() -> None:
    config = _config({"reopen_window": "3d"})
    process = config.processes["p"]
    assert (process.customer, process.acceptance_window, process.rejection_reasons) == (None, None, [])
    assert process.verdict_window == 3 * 86400  # the reopen window
    assert config.scoring.weights.satisfaction is None
    assert config.teams["qa"].members == [GroupMember(group="jira-qa"), AccountMember(account="acc-1")]
    assert config.teams["dev"].members == []
    assert validate_config(config) == []


def test_acceptance_window_and_weights() -> None:
    config = _config(
        {"customer": "qa", "acceptance_window": "2d", "rejection_reasons": ["incomplete"]},
        {"timeliness": 0.4, "quality": 0.4, "satisfaction": 0.2},
    )
    assert config.processes["p"].verdict_window == 2 * 86400
    assert validate_config(config) == []


def test_problems() -> None:
    config = _config(
        {"customer": "qaa", "rejection_reasons": ["incomplete", "Incomplete", " "]},
        {"timeliness": 0.5, "quality": 0.5, "satisfaction": 0.2},
    )
    messages = {
        ".".join(str(p) for p in problem.path): problem.message for problem in validate_config(config)
    }
    assert messages == {
        "processes.p.customer": "unknown team 'qaa'; did you mean 'qa'?",
        "processes.p.rejection_reasons.1": "reason 'Incomplete' is listed twice",
        "processes.p.rejection_reasons.2": "an empty rejection reason",
        "scoring.weights": "weights must add up to 1: timeliness 0.5 + quality 0.5 + satisfaction 0.2 = 1.2 "
        "(an omitted timeliness or quality weight counts as 0.5)",
    }
