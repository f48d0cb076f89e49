"""One writer per layer: each builds model rows from features and writes them in batches."""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.contrib.gis.geos import GEOSGeometry
from django.utils.translation import gettext as _

from ..models import (
    AddressPoint,
    Department,
    District,
    HazardZone,
    InfrastructureFeature,
    InfrastructureLayer,
    ResponsibilityArea,
    ServiceArea,
)
from .base import (
    KML_HOUSEKEEPING,
    LayerImportError,
    _bool,
    _choice,
    _date,
    _FeatureProblem,
    _int,
    _split,
    _text,
)
from .sources import ANY, POINT, POLYGONAL

logger = logging.getLogger(__name__)

# --- Writers: one per layer ---------------------------------------------------------------

@dataclass
class ImportSummary:
    layer: str
    source: str
    driver: str = ""
    source_layer: str = ""
    source_srs: str = ""
    features: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    repaired: list[str] = field(default_factory=list)  # the first MAX_LISTED_PROBLEMS
    repaired_count: int = 0
    created_departments: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False
    reroute_scheduled: bool = False

    def lines(self) -> list[str]:
        head = _("Dry run: nothing was written.") if self.dry_run else _("Imported.")
        lines = [
            head,
            _("Source: %(source)s (%(driver)s, layer %(layer)s, %(srs)s)")
            % {"source": Path(self.source).name, "driver": self.driver,
               "layer": self.source_layer, "srs": self.source_srs},
            _("Target layer: %(layer)s") % {"layer": self.layer},
            _("Fields: %(fields)s") % {"fields": ", ".join(
                f"{t}={s}" for t, s in self.fields.items()) or "-"},
            _("Features read: %(n)d") % {"n": self.features},
        ]
        verb = _("would be") if self.dry_run else _("were")
        lines.append(_("%(n)d created, %(u)d updated, %(d)d deleted (%(verb)s).")
                     % {"n": self.created, "u": self.updated, "d": self.deleted, "verb": verb})
        if self.repaired_count:
            more = self.repaired_count - len(self.repaired)
            lines.append(_("Repaired invalid geometries (MakeValid): %(n)d: %(list)s")
                         % {"n": self.repaired_count, "list": ", ".join(self.repaired)}
                         + (f" (+{more})" if more > 0 else ""))
        if self.created_departments:
            lines.append(_("New departments: %(codes)s")
                         % {"codes": ", ".join(self.created_departments)})
        if self.reroute_scheduled:
            lines.append(_("Open reports no one has touched will be re-routed."))
        return lines


@dataclass
class ImportOptions:
    layer: str
    kind: str | None = None
    field_map: dict[str, str] = field(default_factory=dict)
    srid: int | None = None
    replace: bool = False
    dry_run: bool = False
    create_departments: bool = False
    source_layer: str | None = None
    infrastructure_layer: str | None = None


class _Writer(ABC):
    """Turns one layer's features into rows; a subclass per layer says how (`build`)."""

    shape = POLYGONAL
    model: type

    def __init__(self, options: ImportOptions, summary: ImportSummary,
                 fields: dict[str, str], all_fields: list[str]) -> None:
        self.options = options
        self.summary = summary
        self.fields = fields
        self.all_fields = all_fields

    def prepare(self) -> None:
        """Checks that need the database, and the --replace deletion."""
        if self.options.replace:
            self.summary.deleted += self.replace_queryset().delete()[1].get(
                self.model._meta.label, 0)

    def replace_queryset(self):
        return self.model.objects.all()

    def value(self, feature, target: str) -> Any:
        source = self.fields.get(target)
        if source is None:
            return None
        return feature.get(source)

    def label(self, feature) -> str:
        name = _text(self.value(feature, "name") or self.value(feature, "code")
                     or self.value(feature, "street"))
        return f"#{feature.fid}" + (f" «{name}»" if name else "")

    @abstractmethod
    def build(self, feature, geom: GEOSGeometry) -> Any:
        """The unsaved model instance for one valid feature (geometry in the storage SRID)."""

    def flush(self, items: list) -> None:
        self.model.objects.bulk_create(items)
        self.summary.created += len(items)

    def finish(self) -> None:  # noqa: B027 - an optional hook; most writers need nothing
        """After the last batch (the district writer drops stale rows here on --replace)."""


class _ServiceAreaWriter(_Writer):
    model = ServiceArea

    def build(self, feature, geom):
        name = _text(self.value(feature, "name")) or _("Service area")
        return ServiceArea(name_uk=name[:200], name_en=_text(self.value(feature, "name_en"))[:200],
                           code=_text(self.value(feature, "code"))[:32], geometry=geom)


class _DistrictWriter(_Writer):
    """Districts are upserted by code (reports keep their district); --replace also deletes
    the districts the file no longer has."""

    model = District

    def prepare(self) -> None:
        self.seen: set[str] = set()

    def build(self, feature, geom):
        code = _text(self.value(feature, "code"))
        if not code:
            raise _FeatureProblem(_("its code is empty."))
        if len(code) > 32:
            raise _FeatureProblem(_("its code %(code)r is longer than 32 characters.")
                                  % {"code": code})
        if code in self.seen:
            raise _FeatureProblem(_("the code %(code)r appears twice in the file.")
                                  % {"code": code})
        self.seen.add(code)
        name = _text(self.value(feature, "name")) or code
        return District(code=code, name_uk=name[:200],
                        name_en=_text(self.value(feature, "name_en"))[:200], geometry=geom)

    def flush(self, items):
        codes = [d.code for d in items]
        existing = District.objects.filter(code__in=codes).count()
        District.objects.bulk_create(
            items, update_conflicts=True, unique_fields=["code"],
            update_fields=["name_uk", "name_en", "geometry"],
        )
        self.summary.updated += existing
        self.summary.created += len(items) - existing

    def finish(self):
        if self.options.replace:
            stale = District.objects.exclude(code__in=self.seen)
            self.summary.deleted += stale.delete()[1].get(District._meta.label, 0)


SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


class _ResponsibilityWriter(_Writer):
    model = ResponsibilityArea

    def prepare(self) -> None:
        super().prepare()
        # Categories belong to the reports app above this one: reached through the relation
        # it names (ResponsibilityArea.categories), never by importing it.
        Category = ResponsibilityArea.categories.field.related_model  # noqa: N806
        self.departments = dict(Department.objects.values_list("code", "id"))
        self.categories = dict(Category.objects.values_list("service_code", "id"))
        self.through = ResponsibilityArea.categories.through

    def _department(self, feature) -> int:
        code = _text(self.value(feature, "department"))
        if not code:
            raise _FeatureProblem(_("its department code is empty."))
        if code in self.departments:
            return self.departments[code]
        if not self.options.create_departments:
            raise _FeatureProblem(
                _("the department %(code)r does not exist (create it first, or import with "
                  "--create-departments).") % {"code": code})
        if len(code) > 64 or not SLUG.match(code):
            raise _FeatureProblem(_("the department code %(code)r is not a valid code (letters, "
                                    "digits, - and _).") % {"code": code})
        name = _text(self.value(feature, "department_name")) or code
        department = Department.objects.create(code=code, name_uk=name[:200])
        self.departments[code] = department.pk
        self.summary.created_departments.append(code)
        return department.pk

    def build(self, feature, geom):
        department_id = self._department(feature)
        codes = _split(self.value(feature, "categories"))
        unknown = [c for c in codes if c not in self.categories]
        if unknown:
            raise _FeatureProblem(_("unknown category service code(s): %(codes)s.")
                                  % {"codes": ", ".join(unknown)})
        valid_from = _date(self.value(feature, "valid_from"), "valid_from")
        valid_to = _date(self.value(feature, "valid_to"), "valid_to")
        if valid_from and valid_to and valid_to < valid_from:
            raise _FeatureProblem(_("valid_to %(to)s is before valid_from %(from)s.")
                                  % {"to": valid_to, "from": valid_from})
        area = ResponsibilityArea(
            department_id=department_id,
            name=_text(self.value(feature, "name"))[:200],
            priority=_int(self.value(feature, "priority"), "priority"),
            valid_from=valid_from, valid_to=valid_to, geometry=geom,
        )
        return area, sorted({self.categories[c] for c in codes})

    def flush(self, items):
        areas = ResponsibilityArea.objects.bulk_create([a for a, _c in items])
        links = [
            self.through(responsibilityarea_id=area.pk, category_id=category_id)
            for area, (_a, category_ids) in zip(areas, items, strict=True)
            for category_id in category_ids
        ]
        self.through.objects.bulk_create(links)
        self.summary.created += len(areas)


class _HazardWriter(_Writer):
    model = HazardZone

    def prepare(self) -> None:
        if self.options.kind:
            self.default_kind = _choice(self.options.kind, HazardZone.Kind, "--kind")
        elif "kind" not in self.fields:
            raise LayerImportError(
                _("Hazard zones need a kind: give --kind (%(valid)s) or map a kind field with "
                  "--field-map kind=FIELD.") % {"valid": ", ".join(HazardZone.Kind.values)},
                code="missing_kind",
            )
        else:
            self.default_kind = None
        super().prepare()

    def build(self, feature, geom):
        raw_kind = _text(self.value(feature, "kind"))
        if raw_kind:
            kind = _choice(raw_kind, HazardZone.Kind, "kind")
        elif self.default_kind:
            kind = self.default_kind
        else:
            raise _FeatureProblem(_("its kind is empty (give a default with --kind)."))
        raw_status = _text(self.value(feature, "status"))
        status = (_choice(raw_status, HazardZone.Status, "status") if raw_status
                  else HazardZone.Status.OPEN)
        eo_types = [_choice(t, HazardZone.EOType, "eo_types")
                    for t in _split(self.value(feature, "eo_types"))]
        external_id = _text(self.value(feature, "external_id"))
        name = _text(self.value(feature, "name")) or external_id or f"{kind} #{feature.fid}"
        return HazardZone(
            name=name[:200], external_id=external_id[:64], kind=kind, status=status,
            eo_types=sorted(set(eo_types)),
            source_org=_text(self.value(feature, "source_org"))[:200],
            survey_date=_date(self.value(feature, "survey_date"), "survey_date"),
            marking=_text(self.value(feature, "marking"))[:200],
            public=_bool(self.value(feature, "public"), "public", True),
            geometry=geom,
        )


class _InfrastructureWriter(_Writer):
    shape = ANY
    model = InfrastructureFeature

    def prepare(self) -> None:
        kind = self.options.kind
        self.default_kind = _choice(kind, InfrastructureFeature.Kind, "--kind") if kind else None
        if self.default_kind is None and "kind" not in self.fields:
            raise LayerImportError(
                _("Infrastructure features need a kind: give --kind (%(valid)s) or map a kind "
                  "field.") % {"valid": ", ".join(InfrastructureFeature.Kind.values)},
                code="missing_kind",
            )
        code = self.options.infrastructure_layer or self.default_kind
        if not code:
            raise LayerImportError(
                _("Name the infrastructure layer to import into with --infrastructure-layer "
                  "CODE."), code="missing_infrastructure_layer")
        if not SLUG.match(code):
            raise LayerImportError(_("%(code)r is not a valid layer code.") % {"code": code},
                                   code="invalid_infrastructure_layer")
        label = (InfrastructureFeature.Kind(self.default_kind).label
                 if self.default_kind else code)
        self.target, _created = InfrastructureLayer.objects.get_or_create(
            code=code, defaults={"name_uk": str(label), "name_en": str(label)})
        used = set(self.fields.values())
        housekeeping = KML_HOUSEKEEPING if "KML" in self.summary.driver.upper() else set()
        self.extra = [f for f in self.all_fields
                      if f not in used and f.lower() not in housekeeping]
        super().prepare()

    def replace_queryset(self):
        return InfrastructureFeature.objects.filter(layer=self.target)

    def build(self, feature, geom):
        raw_kind = _text(self.value(feature, "kind"))
        kind = (_choice(raw_kind, InfrastructureFeature.Kind, "kind") if raw_kind
                else self.default_kind)
        if not kind:
            raise _FeatureProblem(_("its kind is empty (give a default with --kind)."))
        raw_shelter = _text(self.value(feature, "shelter_type"))
        shelter = (_choice(raw_shelter, InfrastructureFeature.ShelterType, "shelter_type")
                   if raw_shelter else "")
        raw_sensitivity = _text(self.value(feature, "sensitivity"))
        sensitivity = (_choice(raw_sensitivity, InfrastructureFeature.Sensitivity, "sensitivity")
                       if raw_sensitivity else InfrastructureFeature.Sensitivity.PUBLIC)
        attributes = {}
        for name in self.extra:
            value = feature.get(name)
            if value in (None, ""):
                continue
            if isinstance(value, date | datetime):
                value = value.isoformat()
            attributes[name] = value
        return InfrastructureFeature(
            layer=self.target, kind=kind, name=_text(self.value(feature, "name"))[:200],
            shelter_type=shelter, address=_text(self.value(feature, "address"))[:300],
            sensitivity=sensitivity, attributes=attributes, geometry=geom,
        )


class _AddressWriter(_Writer):
    shape = POINT
    model = AddressPoint

    def build(self, feature, geom):
        street = _text(self.value(feature, "street"))
        if not street:
            raise _FeatureProblem(_("its street is empty."))
        street_en = _text(self.value(feature, "street_en"))
        house = _text(self.value(feature, "house_number"))
        search = f"{street} {house} {street_en} {house}" if street_en else f"{street} {house}"
        return AddressPoint(street_uk=street[:200], street_en=street_en[:200],
                            house_number=house[:32], search_text=search.lower().strip()[:500],
                            location=geom)


WRITERS: dict[str, type[_Writer]] = {
    "service-area": _ServiceAreaWriter,
    "districts": _DistrictWriter,
    "responsibility": _ResponsibilityWriter,
    "hazard": _HazardWriter,
    "infrastructure": _InfrastructureWriter,
    "addresses": _AddressWriter,
}


