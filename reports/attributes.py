"""Validation of a report's answers against its category's questions (Open311 attributes)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.utils.dateparse import parse_datetime

from geocity.errors import ValidationFailed

from .models import CategoryAttribute

DT = CategoryAttribute.Datatype
MAX_STRING = 200
MAX_TEXT = 2000


def _clean_one(attr: CategoryAttribute, raw: object) -> object:
    keys = {v["key"] for v in attr.values or []}
    if attr.datatype == DT.NUMBER:
        try:
            number = Decimal(str(raw).strip())
        except (InvalidOperation, ValueError) as exc:
            raise ValueError("must be a number") from exc
        if not number.is_finite():
            raise ValueError("must be a finite number")
        return int(number) if number == number.to_integral_value() else float(number)
    if attr.datatype == DT.DATETIME:
        if isinstance(raw, datetime):
            return raw.isoformat()
        parsed = parse_datetime(str(raw).strip())
        if parsed is None:
            raise ValueError("must be an ISO 8601 date and time")
        return parsed.isoformat()
    if attr.datatype == DT.SINGLEVALUELIST:
        if isinstance(raw, (list, tuple)):
            if len(raw) != 1:
                raise ValueError("takes exactly one value")
            raw = raw[0]
        value = str(raw)
        if value not in keys:
            raise ValueError(f"must be one of: {', '.join(sorted(keys))}")
        return value
    if attr.datatype == DT.MULTIVALUELIST:
        values = [str(v) for v in (raw if isinstance(raw, (list, tuple)) else [raw])]
        unknown = [v for v in values if v not in keys]
        if unknown:
            raise ValueError(f"unknown values {unknown}; allowed: {', '.join(sorted(keys))}")
        return sorted(set(values), key=values.index)
    text = str(raw).strip()
    limit = MAX_TEXT if attr.datatype == DT.TEXT else MAX_STRING
    if len(text) > limit:
        raise ValueError(f"must be at most {limit} characters")
    return text


def _is_empty(raw: object) -> bool:
    return raw is None or raw == "" or raw == [] or raw == ()


def clean_attributes(category, answers: dict | None) -> dict:
    """Answers validated and normalised; unknown codes and missing required ones are errors."""
    answers = answers or {}
    if not isinstance(answers, dict):
        raise ValidationFailed(
            "attributes must be an object of {code: value}.",
            code="invalid_attributes",
            fields={"attributes": ["Must be an object."]},
        )
    questions = {a.code: a for a in category.attributes.all()}
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, object] = {}
    for code in answers:
        if code not in questions:
            errors[code] = [f"Unknown attribute for category {category.service_code}."]
    for code, attr in questions.items():
        raw = answers.get(code)
        if _is_empty(raw):
            if attr.required:
                errors[code] = ["This answer is required."]
            continue
        try:
            cleaned[code] = _clean_one(attr, raw)
        except ValueError as exc:
            errors[code] = [f"{attr.code} {exc}."]
    if errors:
        raise ValidationFailed(
            "Some answers do not fit the category's questions.",
            code="invalid_attributes",
            fields={f"attributes.{code}": msgs for code, msgs in errors.items()},
        )
    return cleaned
