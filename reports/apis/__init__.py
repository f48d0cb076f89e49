"""The REST API of reports (see `reports.apis.common`)."""
