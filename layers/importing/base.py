"""What every part of the import shares: the layers, errors, field mapping and value parsing."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils.translation import gettext as _

from geocity.errors import ValidationFailed

logger = logging.getLogger(__name__)

LAYERS = ("service-area", "districts", "responsibility", "hazard", "infrastructure", "addresses")

BATCH_SIZE = 500
PROGRESS_MIN_FEATURES = 1000
MAX_LISTED_PROBLEMS = 20
# A polygon smaller than this (in the metric storage SRID) is a sliver, not an area.
MIN_POLYGON_AREA_M2 = 1.0
SHAPEFILE_PARTS = (".shx", ".dbf")
DATA_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".kml", ".kmz")
# Housekeeping fields the LIBKML driver adds to every layer: not attributes of a feature.
KML_HOUSEKEEPING = frozenset({
    "description", "timestamp", "begin", "end", "altitudemode", "tessellate", "extrude",
    "visibility", "draworder", "icon", "snippet",
})


class LayerImportError(ValidationFailed):
    """The file cannot be imported; `problems` names each refused feature or setting."""

    code = "layer_import_failed"

    def __init__(self, message: str, *, problems: list[str] | None = None,
                 code: str | None = None) -> None:
        self.problems = list(problems or [])
        text = message if not self.problems else message + "\n" + "\n".join(
            f"  - {p}" for p in self.problems
        )
        super().__init__(text, code=code, fields={"file": [message, *self.problems]})
        self.summary_message = message


class _FeatureProblem(Exception):
    """One feature is refused; collected, then raised together as LayerImportError."""


# --- Field mapping ------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """A model value a file field can be mapped to. `aliases` are default source names."""

    name: str
    help: str
    required: bool = False
    aliases: tuple[str, ...] = ()

    def defaults(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


_NAME = Target("name", "name (Ukrainian)", aliases=("name_uk", "назва"))
_NAME_EN = Target("name_en", "name (English)")
_CODE = Target("code", "code (КАТОТТГ for a service area)", aliases=("katottg",))

TARGETS: dict[str, tuple[Target, ...]] = {
    "service-area": (_NAME, _NAME_EN, _CODE),
    "districts": (Target("code", "unique district code", required=True), _NAME, _NAME_EN),
    "responsibility": (
        Target("department", "department code", required=True,
               aliases=("department_code", "dept")),
        _NAME,
        Target("categories", "comma list of service codes; empty for every category",
               aliases=("service_codes",)),
        Target("priority", "integer; higher wins where areas overlap"),
        Target("valid_from", "date (YYYY-MM-DD)"),
        Target("valid_to", "date (YYYY-MM-DD)"),
        Target("department_name", "name of a department created by --create-departments"),
    ),
    "hazard": (
        _NAME,
        Target("external_id", "identifier in the source register", aliases=("id", "zone_id")),
        Target("kind", "SHA, CHA, cancelled or cleared (or give --kind)"),
        Target("status", "open or closed"),
        Target("eo_types", "comma list: landmine, uxo, axo, cluster, ied"),
        Target("source_org", "surveying organisation", aliases=("organisation", "org")),
        Target("survey_date", "date (YYYY-MM-DD)"),
        Target("marking", "marking method"),
        Target("public", "true/false: shown to the public"),
    ),
    "infrastructure": (
        _NAME,
        Target("kind", "feature kind (or give --kind)"),
        Target("shelter_type", "shelter type (Civil Protection Code art. 32)"),
        Target("address", "address"),
        Target("sensitivity", "public or restricted"),
    ),
    "addresses": (
        Target("street", "street name (Ukrainian)", required=True, aliases=("street_uk", "вулиця")),
        Target("street_en", "street name (English)"),
        Target("house_number", "house number", aliases=("housenumber", "house", "number")),
    ),
}


def parse_field_map(pairs: list[str] | None) -> dict[str, str]:
    """`["name=NAZVA", "department=DEPT"]` -> {"name": "NAZVA", ...}; a clear error otherwise."""
    mapping: dict[str, str] = {}
    for pair in pairs or []:
        target, sep, source = pair.partition("=")
        target, source = target.strip(), source.strip()
        if not sep or not target or not source:
            raise LayerImportError(
                _("--field-map expects target=source, got %(pair)r.") % {"pair": pair},
                code="invalid_field_map",
            )
        mapping[target] = source
    return mapping


def _resolve_fields(layer: str, fields: list[str], explicit: dict[str, str]) -> dict[str, str]:
    """Target -> source field of the file. Explicit mappings must exist in the file."""
    targets = {t.name: t for t in TARGETS[layer]}
    unknown = sorted(set(explicit) - set(targets))
    if unknown:
        raise LayerImportError(
            _("Unknown --field-map target %(names)s for the %(layer)s layer; valid targets: "
              "%(valid)s.") % {"names": ", ".join(unknown), "layer": layer,
                              "valid": ", ".join(targets)},
            code="invalid_field_map",
        )
    by_lower = {f.lower(): f for f in fields}
    available = ", ".join(fields) or _("(none)")
    resolved: dict[str, str] = {}
    for name, source in explicit.items():
        actual = source if source in fields else by_lower.get(source.lower())
        if actual is None:
            raise LayerImportError(
                _("The mapped field %(source)r (for %(target)s) is not in the file; its fields "
                  "are: %(available)s.") % {"source": source, "target": name,
                                            "available": available},
                code="missing_field",
            )
        resolved[name] = actual
    for target in TARGETS[layer]:
        if target.name in resolved:
            continue
        for candidate in target.defaults():
            if candidate.lower() in by_lower:
                resolved[target.name] = by_lower[candidate.lower()]
                break
        else:
            if target.required:
                raise LayerImportError(
                    _("The %(layer)s layer needs a %(target)s field (%(help)s). Map it with "
                      "--field-map %(target)s=FIELD; the file's fields are: %(available)s.")
                    % {"layer": layer, "target": target.name, "help": target.help,
                       "available": available},
                    code="missing_field",
                )
    return resolved


# --- Value parsing ------------------------------------------------------------------------

def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value: Any, target: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%Y/%m/%d"):
        try:
            return datetime.strptime(text[:10], fmt).date()
        except ValueError:
            continue
    raise _FeatureProblem(_("%(target)s %(value)r is not a date (YYYY-MM-DD).")
                          % {"target": target, "value": text})


def _int(value: Any, target: str, default: int = 0) -> int:
    if value in (None, ""):
        return default
    try:
        number = float(_text(value))
    except ValueError:
        raise _FeatureProblem(_("%(target)s %(value)r is not a number.")
                              % {"target": target, "value": value}) from None
    if not number.is_integer():
        raise _FeatureProblem(_("%(target)s %(value)r is not a whole number.")
                              % {"target": target, "value": value})
    return int(number)


TRUE_WORDS = {"1", "true", "t", "yes", "y", "так", "on", "public"}
FALSE_WORDS = {"0", "false", "f", "no", "n", "ні", "off", "restricted", "private"}


def _bool(value: Any, target: str, default: bool) -> bool:
    if value in (None, ""):
        return default
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise _FeatureProblem(_("%(target)s %(value)r is not true or false.")
                          % {"target": target, "value": value})


def _split(value: Any) -> list[str]:
    text = _text(value).strip("[]{}")
    return [part.strip().strip("'\"") for part in re.split(r"[,;]", text) if part.strip()]


def _choice(value: str, choices, target: str) -> str:
    """Match `value` to a TextChoices value case-insensitively; a clear error otherwise."""
    lookup = {v.lower(): v for v in choices.values}
    found = lookup.get(value.strip().lower())
    if found is None:
        raise _FeatureProblem(_("%(target)s %(value)r is not one of %(valid)s.")
                              % {"target": target, "value": value,
                                 "valid": ", ".join(choices.values)})
    return found


