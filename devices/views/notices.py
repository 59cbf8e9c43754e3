"""The notices feed that static/js/app.js polls on every page: the notices written since the page's cursor."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from django.contrib.auth.decorators import permission_required
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from devices.ids import parse_id
from devices.models import Notice
from devices.views.htmx import HtmxHttpRequest

# At most this many per answer; the client asks again from the last one it got.
PAGE = 20


def _cursor(request: HtmxHttpRequest) -> tuple[int | None, datetime | None] | None:
    """(after, since) from the query: after a notice id, or (a tab's first poll) since the page was rendered."""
    after, since = request.GET.get("after", ""), request.GET.get("since", "")
    if after:
        number = parse_id(after, minimum=0)
        return (number, None) if number is not None else None
    try:
        epoch = float(since)
    except ValueError:
        return None
    if not math.isfinite(epoch) or not 0 <= epoch < 1e11:
        return None
    return None, datetime.fromtimestamp(epoch, tz=UTC)


@require_GET
@never_cache
@permission_required("devices.view_device", raise_exception=True)
def notice_feed(request: HtmxHttpRequest) -> JsonResponse:
    """{"notices": [...], "last": id}: ask again with after=last (an indexed `id > after` query)."""
    cursor = _cursor(request)
    if cursor is None:
        return JsonResponse({"error": "Give after=<notice id> or since=<seconds since 1970>."}, status=400)
    after, since = cursor
    if since is not None:
        # The newest id first: a notice written meanwhile is in the next poll, not lost between two reads.
        newest = Notice.objects.order_by("-id").values_list("id", flat=True).first() or 0
        found = list(Notice.objects.filter(created_at__gt=since, id__lte=newest).order_by("id")[:PAGE])
        last = found[-1].pk if len(found) == PAGE else newest
    else:
        found = list(Notice.objects.filter(id__gt=after).order_by("id")[:PAGE])
        last = found[-1].pk if found else after
    return JsonResponse({"notices": [notice.as_json() for notice in found], "last": last})
