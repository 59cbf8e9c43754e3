"""Each fault is declared once (fakegears.faults) and the CLI, the config and the
control API accept and refuse its values alike, naming it when they refuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from fakegears.__main__ import build_parser, config_from_args
from fakegears.config import SimulatorConfig
from fakegears.faults import FAULT_SPECS, FaultSettings, FaultSpec
from fakegears.kinds import Choice, Number, Switch, Text
from fakegears.server import RunningSimulator
from fakegears.tests.support import HTTP_TIMEOUT

SPEC_IDS = [spec.name for spec in FAULT_SPECS]
# Any text is a valid free-text value, so such flags have no bad value to refuse.
REFUSABLE_FLAGS = [spec for spec in FAULT_SPECS if not (isinstance(spec.kind, Text) and spec.kind.optional)]
README = Path(__file__).resolve().parents[1] / "README.md"


def good_value(spec: FaultSpec) -> Any:
    kind = spec.kind
    if isinstance(kind, Switch):
        return not spec.default
    if isinstance(kind, Text):
        return "https://evil.example/x"
    if isinstance(kind, Choice):
        return next(value for value in kind.values if value != spec.default)
    assert isinstance(kind, Number), f"no example for the kind of {spec.name}: add one here"
    if kind.integer:
        return int(kind.low) + 2
    return kind.low + 0.25  # inside every range declared so far: [0, 1], >= 0


def bad_value(spec: FaultSpec) -> Any:
    kind = spec.kind
    if isinstance(kind, Switch):
        return "yes"
    if isinstance(kind, Text):
        return 5
    if isinstance(kind, Choice):
        return "neither"
    assert isinstance(kind, Number), f"no example for the kind of {spec.name}: add one here"
    return int(kind.low) - 1 if kind.integer else kind.low - 0.5


def cli_args(spec: FaultSpec, value: Any) -> list[str]:
    if isinstance(spec.kind, Switch):
        return [spec.flag] if value is True else [f"{spec.flag}={value}"]
    return [spec.flag, str(value)]


def post_faults(sim: RunningSimulator, body: dict[str, Any]) -> requests.Response:
    return requests.post(sim.base_url + "/_sim/faults", json=body, timeout=HTTP_TIMEOUT)


def test_the_cli_config_and_control_api_know_exactly_the_declared_faults(sim: RunningSimulator) -> None:
    declared = set(SPEC_IDS)
    assert declared == set(FaultSettings().to_dict())
    assert declared == set(requests.get(sim.base_url + "/_sim/faults", timeout=HTTP_TIMEOUT).json())
    assert declared <= set(vars(SimulatorConfig()))
    flags = {option for action in build_parser()._actions for option in action.option_strings}
    assert {spec.flag for spec in FAULT_SPECS} <= flags
    defaults = config_from_args(build_parser().parse_args([]))
    assert {spec.name: getattr(defaults, spec.name) for spec in FAULT_SPECS} == {
        spec.name: spec.default for spec in FAULT_SPECS
    }


@pytest.mark.parametrize("spec", FAULT_SPECS, ids=SPEC_IDS)
def test_a_declared_fault_is_taken_from_a_flag(spec: FaultSpec) -> None:
    value = good_value(spec)
    config = config_from_args(build_parser().parse_args(cli_args(spec, value)))
    assert getattr(config, spec.name) == value
    assert config.initial_faults().to_dict()[spec.name] == value


@pytest.mark.parametrize("spec", FAULT_SPECS, ids=SPEC_IDS)
def test_a_declared_fault_is_taken_from_the_config_and_in_force_at_start(
    spec: FaultSpec, start_sim: Any
) -> None:
    value = good_value(spec)
    sim = start_sim(**{spec.name: value})
    assert requests.get(sim.base_url + "/_sim/faults", timeout=HTTP_TIMEOUT).json()[spec.name] == value


@pytest.mark.parametrize("spec", FAULT_SPECS, ids=SPEC_IDS)
def test_a_declared_fault_is_taken_from_the_control_api(spec: FaultSpec, sim: RunningSimulator) -> None:
    value = good_value(spec)
    response = post_faults(sim, {spec.name: value})
    assert response.status_code == 200
    assert response.json()[spec.name] == value
    assert sim.state.faults.to_dict()[spec.name] == value


@pytest.mark.parametrize("spec", REFUSABLE_FLAGS, ids=[spec.name for spec in REFUSABLE_FLAGS])
def test_a_bad_flag_value_is_refused_naming_the_flag(
    spec: FaultSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(cli_args(spec, bad_value(spec)))
    assert exit_info.value.code != 0
    error = capsys.readouterr().err
    assert f"argument {spec.flag}: " in error
    if not isinstance(spec.kind, Switch):  # a switch takes no value: argparse says so itself
        assert f"must be {spec.kind.description}" in error


@pytest.mark.parametrize("spec", FAULT_SPECS, ids=SPEC_IDS)
def test_a_bad_config_value_is_refused_naming_the_setting(spec: FaultSpec) -> None:
    config = SimulatorConfig(**{spec.name: bad_value(spec)})
    with pytest.raises(ValueError, match=f"^{spec.name} must be {spec.kind.description}, not "):
        config.validate()


@pytest.mark.parametrize("spec", FAULT_SPECS, ids=SPEC_IDS)
def test_a_bad_control_api_value_is_400_naming_the_setting_and_changes_nothing(
    spec: FaultSpec, sim: RunningSimulator
) -> None:
    before = sim.state.faults.to_dict()
    response = post_faults(sim, {"fail_next": 1, spec.name: bad_value(spec)})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_setting"
    assert body["error_description"].startswith(f"{spec.name} must be {spec.kind.description}, not ")
    assert sim.state.faults.to_dict() == before


def test_the_readme_documents_every_declared_fault() -> None:
    readme = README.read_text(encoding="utf-8")
    assert [spec.name for spec in FAULT_SPECS if f"`{spec.name}`" not in readme] == []
