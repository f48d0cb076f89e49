"""Keyset (cursor) pagination for the report list, as GeoJSON FeatureCollections.

DRF's CursorPagination keys on the first ordering field only and falls back to an offset for
ties, which breaks down on columns with many equal values (`supporters_count` is 0 for most
reports) and on NULLs (`due_at`). Here the cursor is the full sort key: (value, id), with
NULLs always last, so every page is one index-friendly `WHERE (key) > (cursor) LIMIT n`.

The cursor is opaque to clients: URL-safe base64 of a small JSON object. A cursor that does
not decode, or that belongs to another ordering, is a 400 `invalid_cursor`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, Q, QuerySet
from rest_framework.request import Request
from rest_framework.utils.urls import remove_query_param, replace_query_param

from geocity.errors import ValidationFailed

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool
    nullable: bool = False
    kind: str = "int"  # "int" or "datetime": how the cursor value is (de)serialised


# ordering parameter -> the primary sort key; `id` in the same direction breaks ties.
ORDERINGS: dict[str, SortKey] = {
    "created": SortKey("created", False, kind="datetime"),
    "-created": SortKey("created", True, kind="datetime"),
    "due_at": SortKey("due_at", False, nullable=True, kind="datetime"),
    "-due_at": SortKey("due_at", True, nullable=True, kind="datetime"),
    "-supporters_count": SortKey("supporters_count", True),
}
DEFAULT_ORDERING = "-created"


def _invalid_cursor(message: str = "The cursor is not valid for this list.") -> ValidationFailed:
    return ValidationFailed(message, code="invalid_cursor", fields={"cursor": [message]})


@dataclass(frozen=True)
class Cursor:
    ordering: str
    value: Any  # the primary key's value (None for a NULL due_at)
    id: int
    reverse: bool  # True: the page *before* this key (a "previous" link)

    def encode(self) -> str:
        key = ORDERINGS[self.ordering]
        value = self.value.isoformat() if key.kind == "datetime" and self.value else self.value
        raw = json.dumps({"o": self.ordering, "v": value, "i": self.id, "r": int(self.reverse)},
                         separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, ordering: str) -> Cursor:
        try:
            padded = token + "=" * (-len(token) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
            if not isinstance(data, dict):
                raise ValueError
            o, v, i, r = data["o"], data["v"], data["i"], data["r"]
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError) as exc:
            raise _invalid_cursor() from exc
        if o != ordering:
            raise _invalid_cursor("The cursor belongs to another ordering; start again.")
        key = ORDERINGS[ordering]
        if type(i) is not int or r not in (0, 1) or not 0 < i < 2**63:
            raise _invalid_cursor()
        if v is None:
            if not key.nullable:
                raise _invalid_cursor()
        elif key.kind == "datetime":
            try:
                v = datetime.fromisoformat(v) if isinstance(v, str) else None
            except ValueError:
                v = None
            if v is None or v.tzinfo is None:
                raise _invalid_cursor()
        elif type(v) is not int or not -(2**63) < v < 2**63:
            raise _invalid_cursor()
        return cls(ordering=o, value=v, id=i, reverse=bool(r))


def _order_by(key: SortKey, *, reverse: bool) -> list:
    """ORDER BY for the forward (NULLs last) or the reversed walk."""
    descending = key.descending != reverse
    nulls = {"nulls_first": True} if reverse and key.nullable else (
        {"nulls_last": True} if key.nullable else {}
    )
    primary = F(key.field).desc(**nulls) if descending else F(key.field).asc(**nulls)
    tie = F("id").desc() if descending else F("id").asc()
    return [primary, tie]


def _beyond_q(key: SortKey, cursor: Cursor) -> Q:
    """Rows strictly after the cursor's (value, id) in the forward order, or strictly before
    it when the cursor is reversed. NULLs of a nullable key sort after every value."""
    after = not cursor.reverse
    # The walk goes towards smaller values when it runs forward over a descending key or
    # backward over an ascending one; the id tie-break runs the same way.
    towards_smaller = key.descending == after
    op = "lt" if towards_smaller else "gt"
    id_beyond = Q(**{f"id__{op}": cursor.id})
    if cursor.value is None:
        # On the NULL tail: forward stays in it; backward includes every non-NULL row.
        same = Q(**{f"{key.field}__isnull": True}) & id_beyond
        return same if after else same | Q(**{f"{key.field}__isnull": False})
    beyond_value = Q(**{f"{key.field}__{op}": cursor.value})
    same = Q(**{key.field: cursor.value}) & id_beyond
    q = beyond_value | same
    if key.nullable and after:
        q |= Q(**{f"{key.field}__isnull": True})
    return q


def parse_page_size(raw: str | None) -> int:
    if raw in (None, ""):
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("page_size must be a whole number.", code="invalid",
                               fields={"page_size": ["A whole number, 1 to 500."]}) from exc
    if size < 1:
        raise ValidationFailed("page_size must be at least 1.", code="invalid",
                               fields={"page_size": ["A whole number, 1 to 500."]})
    return min(size, MAX_PAGE_SIZE)


class ReportCursorPagination:
    """Pages of a queryset in one of ORDERINGS; builds the `next`/`previous` links."""

    cursor_param = "cursor"

    def paginate(self, qs: QuerySet, request: Request, *, ordering: str,
                 page_size: int) -> list:
        key = ORDERINGS[ordering]
        token = request.query_params.get(self.cursor_param)
        cursor = Cursor.decode(token, ordering) if token else None
        reverse = bool(cursor and cursor.reverse)
        if cursor is not None:
            qs = qs.filter(_beyond_q(key, cursor))
        rows = list(qs.order_by(*_order_by(key, reverse=reverse))[: page_size + 1])
        has_more = len(rows) > page_size
        rows = rows[:page_size]
        if reverse:
            rows.reverse()
            self.has_previous, self.has_next = has_more, True
        else:
            self.has_previous, self.has_next = cursor is not None, has_more
        self.request, self.key, self.ordering, self.rows = request, key, ordering, rows
        return rows

    def _link(self, row, *, reverse: bool) -> str:
        value = getattr(row, self.key.field)
        token = Cursor(self.ordering, value, row.pk, reverse).encode()
        return replace_query_param(self.request.build_absolute_uri(), self.cursor_param, token)

    def next_link(self) -> str | None:
        if not self.has_next or not self.rows:
            return None
        return self._link(self.rows[-1], reverse=False)

    def previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        if not self.rows:  # walked past the end: back to the first page
            return remove_query_param(self.request.build_absolute_uri(), self.cursor_param)
        return self._link(self.rows[0], reverse=True)
