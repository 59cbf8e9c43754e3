"""The call-kind registry: every kind of call has one home, and the outbox asks it, knowing no kind by name."""

from __future__ import annotations

from datetime import datetime

import pytest

from devices import outbox
from devices.models import Action, ActionKind, Priority, UpstreamState
from devices.outbox import kinds
from devices.upstream import ActionResult


def test_every_kind_of_action_has_a_registered_call_kind():
    assert {kind.name for kind in kinds.registered()} == set(ActionKind.values)


def test_the_sync_page_and_remediation_kinds_live_in_their_own_packages():
    assert type(kinds.call_kind(ActionKind.SYNC_PAGE)).__module__ == "devices.cloudsync.pages"
    assert type(kinds.call_kind(ActionKind.REMEDIATION)).__module__ == "devices.remediation.calls"


def test_an_unknown_kind_is_a_clear_error():
    with pytest.raises(LookupError, match="no call kind registered for 'nope'"):
        kinds.call_kind("nope")


@pytest.mark.parametrize(("kind", "priority", "batched"), [
    ("dhcprenew", Priority.BULK, True),
    ("unexempt", Priority.BULK, True),
    ("exempt_critical", Priority.BULK, False),  # the bulk endpoint takes no exempt_critical
    ("dhcprenew", Priority.CLICK, False),  # a click goes alone, at once
    ("remediation", Priority.PAGE_VIEW, False),
])
def test_whether_an_action_is_batched_has_one_answer(outbox_settings, kind, priority, batched):
    assert kinds.is_batched(Action(kind=kind, priority=priority)) is batched


def test_a_batch_size_of_one_batches_nothing(outbox_settings):
    outbox_settings.GEARS_BATCH_SIZE = 1
    assert not kinds.is_batched(Action(kind="dhcprenew", priority=Priority.BULK))


class Recording(kinds.CallKind):
    """A stand-in for a kind yet to come: sends through its own client call, records its own way."""

    name = ActionKind.DHCPRENEW

    def __init__(self) -> None:
        self.sent: list[object] = []

    def target(self, action: Action) -> str:
        return f"device-{action.device_id}"

    def send(self, client, token: str, claim) -> ActionResult:
        self.sent.append(claim.target)
        return ActionResult(ok=True, msg="recorded by the kind", http_status=200, rate_limit=None)

    def answered(self, action: Action, result: ActionResult, state: UpstreamState, now: datetime) -> str:
        action.status, action.finished_at, action.upstream_msg = Action.Status.SUCCEEDED, now, result.msg
        return ""


@pytest.fixture
def recording_kind():
    original = kinds.call_kind(ActionKind.DHCPRENEW)
    kind = kinds.register(Recording())
    yield kind
    kinds.register(original)


def test_the_drainer_sends_and_records_through_the_registered_kind(run_drain, fake_upstream, devices, operator,
                                                                    recording_kind):
    device = devices(1)[0]
    action = outbox.enqueue(device, "dhcprenew", user=operator).action
    report = run_drain()
    assert report.sent == 1
    assert recording_kind.sent == [f"device-{device.pk}"]
    assert fake_upstream.sent() == []  # the kind made the call, not a branch of the drainer
    action.refresh_from_db()
    assert (action.status, action.upstream_msg) == ("succeeded", "recorded by the kind")


def test_an_answer_the_kind_cannot_use_is_retried_as_a_transient_failure(run_drain, devices, operator,
                                                                         recording_kind, outbox_settings):
    outbox_settings.GEARS_MAX_ATTEMPTS = 2
    recording_kind.answered = lambda action, result, state, now: "the answer named no device"
    action = outbox.enqueue(devices(1)[0], "dhcprenew", user=operator).action
    run_drain()
    action.refresh_from_db()
    assert action.status == "failed" and len(recording_kind.sent) == 2
    assert action.last_error == "Gave up after 2 attempts: the answer named no device"
