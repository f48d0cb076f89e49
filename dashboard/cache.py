"""Version counters of the data the dashboard caches aggregates of ("reports",
"districts"): bumped on commit by `dashboard.receivers`, part of every cache key, so a
cached aggregate is never served after the data it was computed from changed."""

from __future__ import annotations

from geocity import versions


def _key(name: str) -> str:
    return f"dashboard:version:{name}"


def data_version(name: str) -> int:
    return versions.version(_key(name))


def bump_data_version(name: str) -> None:
    versions.bump(_key(name))
