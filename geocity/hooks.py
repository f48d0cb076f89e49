"""Announcing a committed change to the apps above: `send_on_commit`.

Lower apps never import higher ones (README, "Architecture"). A service whose change must
set off work in a higher app (a tile cache to bust, reports to re-route) sends a signal of
its app's `signals.py` through this function; the higher app's `receivers.py` acts on it.
Those two modules are the one place side effects cross apps.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)


def send_on_commit(signal: Signal, sender: object, **kwargs) -> None:
    """Send `signal` once the current transaction commits (at once outside one).

    Every receiver runs even if another fails: a failing receiver is logged with its
    traceback and does not undo the change, which has already committed.
    """

    def send() -> None:
        for receiver, result in signal.send_robust(sender=sender, **kwargs):
            if isinstance(result, Exception):
                logger.error("Receiver %s of %s failed", getattr(receiver, "__qualname__",
                             receiver), sender, exc_info=result)

    transaction.on_commit(send)
