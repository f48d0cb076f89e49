"""What the layers app announces to the apps above it.

Lower apps never import higher ones; when a change here must set off work there (a tile
cache to bust, reports to re-route), the service that made the change sends a signal from
this module after its transaction commits, and the higher app's `receivers.py` acts on it.
These modules are the one place such side effects are wired (DEVELOPERS.md).
"""

from django.dispatch import Signal

# Sent on commit by `layers.services.layer_changed` after any write to a map layer.
# Arguments: `layer`, the layer's import name ("service-area", "districts", "responsibility",
# "hazard", "infrastructure", "addresses"); `routing`, whether routing reads that layer.
layer_data_changed = Signal()
