"""The one writer of CSV download responses."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.http import StreamingHttpResponse
from django.utils import timezone

from devices.csv_io import csv_lines


def csv_response(filename_stem: str, header: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    """Stream `rows` under `header` as `<filename_stem>-<timestamp>.csv`, formula-safe."""
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename_stem}-{timezone.now():%Y%m%d-%H%M%S}.csv"'
    return response
