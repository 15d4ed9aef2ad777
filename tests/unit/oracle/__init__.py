"""An independent, loop-based oracle for docs/semantics.md and its comparison with `baton.scoring.engine`.

- `oracle.py`: the oracle (a state machine per issue, working time counted in 15-minute slots).
- `worked_example.py`: docs/semantics.md's worked example; `test_worked_example.py` checks the oracle on it,
  `test_oracle_cases.py` on further hand-computed cases.
- `histories.py`: four configs and random, consistent (or gapped) Jira histories.
- `test_engine_vs_oracle.py`: requests, clocks, scorecards and the unmapped report, field by field.
- `test_properties.py`: order independence, idempotency, config change, re-evaluation.

Run: `python -m pytest tests/unit/oracle -q` (about 40 s of CPU);
`BATON_HYPOTHESIS_PROFILE=thorough` multiplies every example budget by 20.
"""
