"""A few hundred fuzz cases in CI (the full 10,000+ campaign is `python -m tests.fuzz.campaign`):
every mutated file gives ok or one clean line from `info` and `run --input random`; no
traceback, hang, crash, memory blow-up or code execution."""

from __future__ import annotations

import pytest

from tests.fuzz.campaign import campaign, counts, failures
from tests.fuzz.mutators import all_cases

pytestmark = pytest.mark.slow

#: Every family at a small scale, then every other case: about 420 files.
CI_SCALE = 0.02
CI_STEP = 2


@pytest.fixture(scope="module")
def outcomes():
    cases = all_cases(seed=0, scale=CI_SCALE)[::CI_STEP]
    return campaign(cases, workers=2, hang=20.0, keras_run="sample", progress=False)


def test_every_family_is_covered(outcomes) -> None:
    families = {o.case.family for o in outcomes}
    assert families >= {"truncate", "bitflip", "bytes", "pb_length", "pb_tag", "onnx_lie",
                        "external", "zip_lie", "keras_config", "h5_damage", "h5_config"}
    assert len(outcomes) >= 300


def test_no_case_breaks_the_contract(outcomes) -> None:
    bad = failures(outcomes)
    assert not bad, "\n".join(f"{b['worst']} {b['id']} {b['detail']}" for b in bad[:20])


def test_both_outcomes_occur(outcomes) -> None:
    """The mutations are neither all fatal nor all harmless: the suite can tell."""
    c = counts(outcomes)
    assert c.get("ok-loaded", 0) > 50 and c.get("clean-refusal", 0) > 50, c
    assert c.get("run-ok", 0) > 20, c


def test_lambda_payloads_are_never_executed(outcomes) -> None:
    lam = [o for o in outcomes if o.case.params.get("edit", "").startswith("lambda")]
    assert lam
    assert not any(o.code_execution for o in outcomes)
