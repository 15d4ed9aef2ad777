"""The `alerts:` section and the at-risk threshold: what loads, and every problem with its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from baton.config import ConfigError, fingerprint, load_config_text
from baton.webhooks.cli import main
from tests.unit.config.test_loader import VALID


def _load(alerts: str, process_extra: str = "") -> object:
    text = VALID.replace("stages: [dev, qa]\n", f"stages: [dev, qa]\n{process_extra}") + textwrap.dedent(
        alerts
    )
    return load_config_text(text, "baton.yaml")


def _problems(alerts: str) -> list[tuple[int | None, str]]:
    with pytest.raises(ConfigError) as caught:
        _load(alerts)
    return [(p.line, p.message) for p in caught.value.problems]


def test_targets_load_with_defaults_and_yaml_1_2_on() -> None:
    config = _load(
        """\
        alerts:
          - name: ops
            kind: slack
            url_env: BATON_ALERT_OPS_SLACK
          - {name: pager, kind: json, url: "https://pager.example.com/hook", secret_env: BATON_ALERT_PAGER,
             on: [breached], processes: [delivery], providers: [qa]}
        """
    )
    ops, pager = config.alerts  # type: ignore[attr-defined]
    assert (ops.on, ops.url, ops.processes, ops.providers) == (["at_risk", "breached"], None, None, None)
    assert (pager.on, pager.secret_env, pager.providers) == (["breached"], "BATON_ALERT_PAGER", ["qa"])


def test_alerts_do_not_change_the_fingerprint() -> None:
    plain = load_config_text(VALID)
    with_alerts = _load("alerts: [{name: a, kind: slack, url: 'https://hooks.example.com/x'}]\n")
    assert fingerprint(plain) == fingerprint(with_alerts)  # type: ignore[arg-type]


def test_at_risk_as_a_percentage() -> None:
    config = _load("", "    at_risk: 60%\n")
    assert config.processes["delivery"].at_risk == 0.6  # type: ignore[attr-defined]
    with pytest.raises(ConfigError) as caught:
        _load("", "    at_risk: 120%\n")
    assert "less than or equal to 1" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        _load("", "    at_risk: lots%\n")
    assert "'lots%' is not a percentage; write e.g. 75% or 0.75" in str(caught.value)


def test_every_target_problem_is_named_with_its_line() -> None:
    problems = _problems(
        """\
        alerts:
          - {name: a, kind: slack, url: "https://x.example.com", url_env: BATON_ALERT_A}
          - {name: a, kind: json, url: "ftp://x.example.com"}
          - {name: c, kind: teams, url_env: SLACK_URL, secret_env: BATON_ALERT_C}
          - {name: d, kind: jira_automation, url: "https://x.example.com", processes: [delivry], providers: [qq],
             on: []}
          - {name: e, kind: json, url: "https://x.example.com", secret_env: "s3cr3t"}
        """
    )
    assert problems == [
        (
            13,
            "give the endpoint as `url: https://...` or, when the URL is itself a secret (Slack, Teams, "
            "Automation), as `url_env: BATON_ALERT_<NAME>`; exactly one of the two",
        ),
        (14, "the alert target name 'a' is used twice; names must differ"),
        (14, "'ftp://x.example.com' is not an http(s) URL"),
        (
            14,
            "a `json` target is signed: give `secret_env: BATON_ALERT_<NAME>`, the variable holding its "
            "HMAC-SHA256 key",
        ),
        (
            15,
            "'SLACK_URL' is not an alert variable name: write the name of an environment variable starting "
            "with BATON_ALERT_ (e.g. BATON_ALERT_OPS_KEY), never the secret itself",
        ),
        (15, "a `teams` webhook takes no secret (its URL is the credential: use `url_env`)"),
        (16, "unknown process 'delivry'; did you mean 'delivery'?"),
        (16, "unknown team 'qq'; known teams: dev, qa"),
        (17, "`on` lists no state: write on: [at_risk, breached]"),
        (
            18,
            "'s3cr3t' is not an alert variable name: write the name of an environment variable starting "
            "with BATON_ALERT_ (e.g. BATON_ALERT_OPS_KEY), never the secret itself",
        ),
    ]


def test_unknown_kind_and_state_are_shape_problems() -> None:
    problems = _problems("alerts: [{name: a, kind: email, url: 'https://x.example.com', on: [late]}]\n")
    messages = " | ".join(m for _, m in problems)
    assert "jira_automation" in messages and "slack" in messages
    assert "at_risk" in messages and "breached" in messages


def test_the_demos_commented_alerts_example_is_valid_and_shown_without_urls(tmp_path: Path) -> None:
    source = (Path(__file__).resolve().parents[3] / "config" / "examples" / "demo.yaml").read_text()
    head, example = source.split("# alerts:\n")
    uncommented = "\n".join(line[2:] if line.startswith("#") else line for line in example.splitlines())
    path = tmp_path / "demo-alerts.yaml"
    path.write_text(f"{head}alerts:\n{uncommented}\n")
    config = load_config_text(path.read_text())
    assert [(t.name, t.kind, t.on) for t in config.alerts] == [
        ("ops-slack", "slack", ["at_risk", "breached"]),
        ("support-automation", "jira_automation", ["at_risk"]),
        ("pmo-teams", "teams", ["breached"]),
        ("pager", "json", ["at_risk", "breached"]),
    ]
    result = CliRunner().invoke(main, ["config", "check", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Alerts" in result.output and "$BATON_ALERT_OPS_SLACK_URL" in result.output
    assert "pager.example.com" not in result.output
