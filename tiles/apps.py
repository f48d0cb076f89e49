from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Layer models -> the tile layers drawn from them. Services that change reports bump
# "reports" themselves; these models are mostly edited in the admin or by imports.
LAYER_MODELS = {
    "layers.District": ("districts",),
    "layers.ServiceArea": ("service-area",),
    "layers.HazardZone": ("hazard-zones",),
    "layers.InfrastructureFeature": ("infrastructure",),
    "layers.InfrastructureLayer": ("infrastructure",),
    "layers.ResponsibilityArea": ("responsibility",),
    "layers.Department": ("responsibility",),
}


def _bump_on_commit(sender, **kwargs) -> None:
    """Cache invalidation only (no business rule): bump the tile layers after the commit."""
    from django.db import transaction

    from .cache import bump_layer_version

    for layer in LAYER_MODELS.get(sender._meta.label, ()):
        transaction.on_commit(lambda layer=layer: bump_layer_version(layer))


class TilesConfig(AppConfig):
    name = "tiles"
    verbose_name = _("Tiles")

    def ready(self) -> None:
        from django.apps import apps
        from django.db.models.signals import post_delete, post_save

        for label in LAYER_MODELS:
            model = apps.get_model(label)
            post_save.connect(_bump_on_commit, sender=model, dispatch_uid=f"tiles-save-{label}")
            post_delete.connect(_bump_on_commit, sender=model,
                                dispatch_uid=f"tiles-delete-{label}")
