from django.apps import AppConfig


class LegacyIssuesConfig(AppConfig):
    """The old `issues` app's migration history, kept so an existing database upgrades with
    `migrate`. It has no models and no code: its last migration hands every model over to
    `reports`, `open311` and `dashboard` (see migrations/0007_moved_out.py)."""

    name = "geocity.legacy_issues"
    label = "issues"
    verbose_name = "Issues (migration history)"
