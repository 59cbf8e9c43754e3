"""Device.standing: the cloud's compliance status read beside the exemption and the remediation answer.

An exempt device answers the v2 APIs as if it were compliant (docs/upstream/api-notes.md §8).
"""

from __future__ import annotations

from itertools import product

import pytest

from devices.models import Compliance, Device, ExemptMode, RemediationState, Standing

MODES = [None, *ExemptMode.values]


def device(compliance, exempt_mode=None, remediation=RemediationState.UNKNOWN) -> Device:
    return Device(name="ws-1", compliance=compliance, exempt_mode=exempt_mode, remediation_state=remediation,
                  remediation_link="https://x.example/r" if remediation == RemediationState.LINK else "")


@pytest.mark.parametrize("mode", [ExemptMode.CRITICAL, ExemptMode.ALL])
@pytest.mark.parametrize("remediation", [RemediationState.LINK, RemediationState.NO_ISSUES, RemediationState.UNKNOWN])
def test_an_exempt_device_the_cloud_calls_compliant_stands_exempt_not_compliant(mode, remediation):
    shown = device(Compliance.COMPLIANT, mode, remediation)
    assert shown.standing == Standing.EXEMPT
    assert shown.standing.label == "Exempt (issues not counted)"
    assert "whatever its issues" in shown.standing_note


@pytest.mark.parametrize("mode", [None, ExemptMode.NONE])
def test_a_compliant_status_beside_a_remediation_link_without_a_known_exemption_says_issues_are_reported(mode):
    shown = device(Compliance.COMPLIANT, mode, RemediationState.LINK)
    assert shown.standing == Standing.ISSUES_REPORTED
    assert "remediation link reports issues" in shown.standing_note


@pytest.mark.parametrize("mode", [None, ExemptMode.NONE])
@pytest.mark.parametrize("remediation", [RemediationState.NO_ISSUES, RemediationState.UNKNOWN,
                                         RemediationState.NOT_FOUND, RemediationState.ERROR])
def test_a_compliant_device_without_exemption_or_reported_issues_stands_compliant(mode, remediation):
    assert device(Compliance.COMPLIANT, mode, remediation).standing == Standing.COMPLIANT


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("compliance", [Compliance.NON_COMPLIANT, Compliance.REPORTING, Compliance.UNKNOWN])
def test_any_other_status_is_shown_as_the_cloud_sends_it_whatever_the_exemption(compliance, mode):
    # A critical-only exemption may leave other issues counted: the cloud then says non-compliant, and so do we.
    shown = device(compliance, mode, RemediationState.LINK)
    assert shown.standing.value == compliance.value
    assert shown.standing.label == compliance.label


@pytest.mark.django_db
def test_each_device_is_in_exactly_one_standing_and_the_database_condition_agrees_with_the_property():
    made = []
    for n, (compliance, mode, remediation) in enumerate(product(Compliance.values, MODES, RemediationState.values)):
        made.append(device(compliance, mode, remediation))
        made[-1].name = f"ws-{n}"
    Device.objects.bulk_create(made)
    stored = list(Device.objects.all())
    for standing in Standing:
        matched = set(Device.objects.filter(Device.standing_q(standing)).values_list("pk", flat=True))
        assert matched == {d.pk for d in stored if d.standing == standing}, standing
    assert sum(Device.objects.filter(Device.standing_q(s)).count() for s in Standing) == len(stored)
    # Plain values (the export) read the same as the instances.
    assert all(Device.standing_of(d.compliance, d.exempt_mode, d.remediation_state) == d.standing for d in stored)
