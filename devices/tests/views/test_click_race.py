"""Twenty operators pressing the same button at the same moment, through the real views and PostgreSQL's row locks."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from devices.models import Action, AuditEntry
from devices.roles import OPERATOR, ensure_roles

CLICKS = 20


def _operators(count: int):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    ensure_roles()
    group = Group.objects.get(name=OPERATOR)
    users = [get_user_model().objects.create_user(username=f"op{i:02d}", password="unused") for i in range(count)]
    group.user_set.add(*users)
    return users


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL (DATABASE_URL)")
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_operators_clicking_the_same_action_at_once_queue_it_once_and_the_rest_hear_it_waits(make_device):
    device = make_device("ws-race", hwid="RACE0000000000000000000000000001")
    clients = []
    for user in _operators(CLICKS):
        client = Client()
        client.force_login(user)
        clients.append(client)
    url = reverse("devices:action-create", args=[device.pk])
    barrier, answers, errors = threading.Barrier(CLICKS), [], []

    def click(client: Client) -> None:
        try:
            barrier.wait(timeout=30)
            response = client.post(url, {"kind": "dhcprenew"}, headers={"HX-Request": "true", "HX-Target": "device-actions"})
            answers.append((response.status_code, response.content.decode()))
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sorted(status for status, _ in answers) == [200] * CLICKS
    queued = [body for _, body in answers if "Renew DHCP queued for ws-race." in body]
    waiting = [body for _, body in answers if "Renew DHCP was already waiting for ws-race; it is queued once." in body]
    assert (len(queued), len(waiting)) == (1, CLICKS - 1)
    action = Action.objects.get(device=device, kind="dhcprenew")
    assert action.status == Action.Status.QUEUED
    assert AuditEntry.objects.filter(verb=AuditEntry.Verb.QUEUED, action=action).count() == 1
