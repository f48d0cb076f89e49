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


def enqueue(task, *args, **kwargs) -> None:
    """Send a Celery task to the broker; when the broker cannot take it (Redis down), run
    it here and now instead, so a side effect (mail, photo sizes) is never lost silently.

    Called from `transaction.on_commit`: the change it follows has committed, so an
    exception here would only turn the client's success into an error. Without a broker
    (CELERY_TASK_ALWAYS_EAGER) `delay` already runs the task in-process. A task that fails
    when run here is logged with its traceback, as a failing receiver is."""
    try:
        task.delay(*args, **kwargs)
        return
    except Exception as exc:  # noqa: BLE001 - kombu raises the transport's own errors
        if not _is_broker_error(exc):
            raise
        logger.warning("Broker unavailable (%s): running %s in-process", exc, task.name)
    try:
        task.apply(args=args, kwargs=kwargs, throw=True)
    except Exception:
        logger.exception("Task %s failed in-process after the broker was unavailable",
                         task.name)


def _is_broker_error(exc: Exception) -> bool:
    from kombu.exceptions import OperationalError as KombuOperationalError

    if isinstance(exc, KombuOperationalError | ConnectionError | TimeoutError):
        return True
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover - redis is installed with celery[redis]
        return False
    return isinstance(exc, RedisConnectionError | RedisTimeoutError)
