"""What the reports app announces to the apps above it (tiles, dashboard).

Lower apps never import higher ones; the services here send these signals after their
transaction commits (`reports.services.common.announce_change`, through
`geocity.hooks.send_on_commit`), and the higher apps' `receivers.py` act on them. These
modules are the one place side effects cross apps (DEVELOPERS.md).
"""

from django.dispatch import Signal

# Sent on commit after any service wrote reports (created, changed, re-routed). No arguments.
reports_changed = Signal()
