"""HTTP helpers the staff apps share: the 403 page and streamed CSV exports."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    """The 403 page of the workspace and the dashboard (a page, not a bare error)."""
    return render(request, "forbidden.html", {"message": message}, status=403)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(header: list[str], rows: Iterable[Iterable],
                 filename: str) -> StreamingHttpResponse:
    """A streamed CSV (UTF-8 with BOM, so spreadsheet programs read Cyrillic)."""
    writer = csv.writer(_Echo())

    def stream() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
