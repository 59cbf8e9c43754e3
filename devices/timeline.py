"""A device's timeline: its audit entries and its actions' steps, newest first, a page at a time.

Actions are read from their own rows (queued, sent, finished with the
cloud's answer), so bulk jobs and remediation fetches appear without an
audit entry each; an action's audited click or cancel is shown once, from
the audit entry, which knows who did it. Remediation fetches show only
their answer: a page view queues one whenever the link is stale.

Pages are cut by a cursor (time, source, id), not an offset: entries written
while someone reads do not shift the older pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from heapq import merge

from django.db.models import Exists, OuterRef, Q, QuerySet

from devices.ids import parse_id
from devices.models import Action, ActionKind, AuditEntry, Device

PAGE_SIZE = 20
FIELD_LABELS = {
    "name": "Name",
    "hwid": "HWID",
    "macs": "MAC addresses",
    "owner_name": "Owner",
    "owner_email": "Owner email",
    "notes": "Notes",
}
# Sources, in the order entries of one instant are listed (the highest first).
AUDIT, QUEUED, SENT, FINISHED = 0, 1, 2, 3
AUDITED_CLICKS = (AuditEntry.Verb.QUEUED, AuditEntry.Verb.RETRIED)


@dataclass(frozen=True)
class Change:
    label: str
    old: str
    new: str


@dataclass
class Event:
    at: datetime
    source: int
    pk: int
    who: str
    title: str
    detail: str = ""
    changes: list[Change] = field(default_factory=list)
    status: str = ""  # an action's status, for its badge
    bulk_job_id: int | None = None

    @property
    def key(self) -> tuple:
        return (self.at, self.source, self.pk)

    @property
    def cursor(self) -> str:
        return f"{self.at.isoformat()}~{self.source}~{self.pk}"


@dataclass
class TimelinePage:
    events: list[Event]
    older: str | None  # the cursor of the next page, None at the end


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, name.replace("_", " ").capitalize())


def readable_changes(changes: list) -> list[Change]:
    """The stored [field, old, new] triples with people's labels; malformed items are skipped."""
    return [
        Change(field_label(str(item[0])), str(item[1] or ""), str(item[2] or ""))
        for item in changes
        if isinstance(item, (list, tuple)) and len(item) == 3
    ]


def changes_text(changes: list) -> str:
    """One line for a CSV cell: "Name: old → new; HWID: — → H1"."""
    return "; ".join(f"{c.label}: {c.old or '—'} → {c.new or '—'}" for c in readable_changes(changes))


def parse_cursor(text: str) -> tuple[datetime, int, int] | None:
    """The (time, source, id) a cursor names; None when it is not one."""
    try:
        at, source, pk = text.split("~")
        parsed = datetime.fromisoformat(at), parse_id(source, minimum=0), parse_id(pk, minimum=0)
    except ValueError:
        return None
    if parsed[0].tzinfo is None or parsed[1] not in (AUDIT, QUEUED, SENT, FINISHED) or parsed[2] is None:
        return None
    return parsed


def _older_than(queryset: QuerySet, column: str, source: int, cursor: tuple | None) -> QuerySet:
    """The rows of `source` that sort after `cursor` (newest first), nearest first."""
    queryset = queryset.filter(**{f"{column}__isnull": False}).order_by(f"-{column}", "-pk")
    if cursor is None:
        return queryset
    at, cursor_source, pk = cursor
    older = Q(**{f"{column}__lt": at})
    if source < cursor_source:
        older |= Q(**{column: at})
    elif source == cursor_source:
        older |= Q(**{column: at, "pk__lt": pk})
    return queryset.filter(older)


def _audit_event(entry: AuditEntry) -> Event:
    title = entry.get_verb_display() + (f": {entry.action_label}" if entry.kind else "")
    return Event(entry.at, AUDIT, entry.pk, entry.username, title, entry.detail,
                 readable_changes(entry.changes), bulk_job_id=entry.bulk_job_id)


def _action_event(action: Action, source: int) -> Event:
    who = action.requested_by.username if action.requested_by else "system"
    kind = action.get_kind_display()
    if source == QUEUED:
        return Event(action.created_at, QUEUED, action.pk, who, f"Queued: {kind}", bulk_job_id=action.bulk_job_id,
                     status=Action.Status.QUEUED)
    if source == SENT:
        return Event(action.first_sent_at, SENT, action.pk, "system", f"Sent: {kind}", status=Action.Status.SENDING)
    answer = " ".join(part for part in (f"HTTP {action.http_status}" if action.http_status else "",
                                        action.upstream_msg, action.last_error) if part)
    if action.attempts > 1:
        answer = f"{answer} (after {action.attempts} attempts)".strip()
    return Event(action.finished_at, FINISHED, action.pk, "system", f"{action.get_status_display()}: {kind}",
                 answer, status=action.status, bulk_job_id=action.bulk_job_id)


def _audited(verbs) -> Exists:
    """Whether an action has an audit entry with one of `verbs` (looked up by the entry's action index)."""
    return Exists(AuditEntry.objects.filter(action=OuterRef("pk"), verb__in=verbs))


def device_timeline(device: Device, cursor: tuple | None = None, size: int = PAGE_SIZE) -> TimelinePage:
    """The device's `size` newest entries older than `cursor`, and the cursor of the page after."""
    entries = AuditEntry.objects.filter(device=device)
    actions = Action.objects.filter(device=device).select_related("requested_by")
    # A page view's remediation fetch is routine: only its answer is worth a line.
    unaudited = actions.exclude(kind=ActionKind.REMEDIATION).exclude(_audited(AUDITED_CLICKS))
    sent = actions.exclude(kind=ActionKind.REMEDIATION)
    # A cancel someone clicked is its audit entry; other ends are the action's own.
    ends = actions.exclude(_audited([AuditEntry.Verb.CANCELLED]))
    sources = [
        [_audit_event(e) for e in _older_than(entries, "at", AUDIT, cursor)[: size + 1]],
        [_action_event(a, QUEUED) for a in _older_than(unaudited, "created_at", QUEUED, cursor)[: size + 1]],
        [_action_event(a, SENT) for a in _older_than(sent, "first_sent_at", SENT, cursor)[: size + 1]],
        [_action_event(a, FINISHED) for a in _older_than(ends, "finished_at", FINISHED, cursor)[: size + 1]],
    ]
    events = list(merge(*sources, key=lambda event: event.key, reverse=True))
    shown = events[:size]
    return TimelinePage(shown, shown[-1].cursor if len(events) > size else None)
