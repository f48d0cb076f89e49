"""`layer_import`: the whole import of one file as one transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ..models import (
    HazardZone,
    InfrastructureFeature,
)
from ..services import layer_changed
from .base import (
    BATCH_SIZE,
    LAYERS,
    MAX_LISTED_PROBLEMS,
    LayerImportError,
    _choice,
    _FeatureProblem,
    _resolve_fields,
)
from .sources import (
    _feature_geometry,
    _transform_for,
    clean_geometry,
    open_source,
)
from .writers import (
    WRITERS,
    ImportOptions,
    ImportSummary,
)

logger = logging.getLogger(__name__)

# --- The import ---------------------------------------------------------------------------

def _check_options(options: ImportOptions) -> None:
    if options.layer not in LAYERS:
        raise LayerImportError(_("Unknown layer %(layer)r; choose one of %(valid)s.")
                               % {"layer": options.layer, "valid": ", ".join(LAYERS)},
                               code="unknown_layer")
    if options.kind and options.layer not in ("hazard", "infrastructure"):
        raise LayerImportError(
            _("--kind applies to the hazard and infrastructure layers only."),
            code="unknown_kind")
    if options.kind:
        choices = HazardZone.Kind if options.layer == "hazard" else InfrastructureFeature.Kind
        try:
            _choice(options.kind, choices, "--kind")
        except _FeatureProblem as exc:
            raise LayerImportError(str(exc), code="unknown_kind") from None


def layer_import(
    path: str | Path,
    *,
    layer: str,
    kind: str | None = None,
    field_map: dict[str, str] | None = None,
    srid: int | None = None,
    replace: bool = False,
    dry_run: bool = False,
    create_departments: bool = False,
    source_layer: str | None = None,
    infrastructure_layer: str | None = None,
    encoding: str | None = None,
    progress: Callable[[int | None], Any] | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportSummary:
    """Import the features of `path` into `layer`, all or nothing.

    `progress(total)` may return a tqdm-like object (update(n), close()) for a progress bar.
    Raises LayerImportError (a ValidationFailed) with every problem found; nothing is written.
    """
    options = ImportOptions(layer=layer, kind=kind, field_map=dict(field_map or {}), srid=srid,
                            replace=replace, dry_run=dry_run,
                            create_departments=create_departments, source_layer=source_layer,
                            infrastructure_layer=infrastructure_layer)
    _check_options(options)
    source = open_source(path, source_layer=source_layer, encoding=encoding)
    gdal_layer = source.layer
    total = gdal_layer.num_feat
    if total == 0:
        raise LayerImportError(_("%(file)s: the layer %(layer)s is empty (no features).")
                               % {"file": Path(source.path).name, "layer": gdal_layer.name},
                               code="empty_layer")
    all_fields = list(gdal_layer.fields)
    fields = _resolve_fields(layer, all_fields, options.field_map)
    transform, srs = _transform_for(source, srid)
    summary = ImportSummary(
        layer=layer, source=str(path), driver=source.driver, source_layer=gdal_layer.name,
        source_srs=f"EPSG:{srs.srid}" if srs.srid else (srs.name or "?"), fields=fields,
        dry_run=dry_run,
    )
    writer = WRITERS[layer](options, summary, fields, all_fields)
    geographic = bool(srs.geographic)
    problems: list[str] = []
    problem_count = 0
    bar = progress(total if total and total > 0 else None) if progress else None
    try:
        with transaction.atomic():
            writer.prepare()
            batch: list = []
            for feature in gdal_layer:
                summary.features += 1
                if bar is not None:
                    bar.update(1)
                try:
                    geom, note = clean_geometry(_feature_geometry(feature),
                                                transform, shape=writer.shape,
                                                geographic_source=geographic)
                    item = writer.build(feature, geom)
                except UnicodeDecodeError as exc:
                    raise LayerImportError(
                        _("Feature #%(fid)s has text that is not UTF-8 (%(error)s). Give the "
                          "file's code page with --encoding, e.g. CP1251 (a shapefile without "
                          "a .cpg file).") % {"fid": feature.fid, "error": exc.reason},
                        code="wrong_encoding",
                    ) from None
                except _FeatureProblem as exc:
                    problem_count += 1
                    if len(problems) < MAX_LISTED_PROBLEMS:
                        problems.append(_("feature %(label)s: %(problem)s")
                                        % {"label": writer.label(feature), "problem": exc})
                    continue
                if note:
                    summary.repaired_count += 1
                    if len(summary.repaired) < MAX_LISTED_PROBLEMS:  # memory stays flat
                        summary.repaired.append(f"{writer.label(feature)} ({note})")
                if problem_count:
                    continue  # keep checking, stop writing
                batch.append(item)
                if len(batch) >= batch_size:
                    writer.flush(batch)
                    batch = []
            if summary.features == 0:
                raise LayerImportError(_("%(file)s: the layer is empty (no features).")
                                       % {"file": Path(source.path).name},
                                       code="empty_layer")
            if problem_count:
                more = problem_count - len(problems)
                if more > 0:
                    problems.append(_("… and %(n)d more.") % {"n": more})
                raise LayerImportError(
                    _("%(n)d of %(total)d features were refused; nothing was imported.")
                    % {"n": problem_count, "total": summary.features},
                    problems=problems, code="invalid_features",
                )
            if batch:
                writer.flush(batch)
            writer.finish()
            if dry_run:
                transaction.set_rollback(True)
            else:
                _schedule_side_effects(layer, summary)
    except IntegrityError as exc:
        raise LayerImportError(_("The database refused the import: %(error)s")
                               % {"error": str(exc).splitlines()[0]},
                               code="integrity_error") from exc
    finally:
        if bar is not None:
            bar.close()
    return summary


def _schedule_side_effects(layer: str, summary: ImportSummary) -> None:
    summary.reroute_scheduled = layer_changed(layer=layer)
