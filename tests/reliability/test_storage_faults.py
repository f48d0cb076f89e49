"""Disk full or unwritable photo storage: a report POST with photos fails cleanly, a 503
with the `{"code","message"}` JSON, and leaves no half-written report: no Report or Photo
row, no event, no file. "Full" is a real 64 KB tmpfs filled to its last bytes (mounted by
the test; the suite runs as root), "unwritable" a storage root whose parent is a file."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage

from reports.models import Photo, Report, ReportEvent

from .. import factories as f
from .figures import tally

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_disk(tmp_path):
    mount = tmp_path / "full"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                            capture_output=True, text=True)
    assert result.returncode == 0, f"mounting a tmpfs failed: {result.stderr}"
    try:
        (mount / "originals").mkdir()
        filler = open(mount / "filler", "wb")  # noqa: SIM115 - filled up to ENOSPC
        try:
            while True:
                filler.write(b"\0" * 1024)
                filler.flush()
        except OSError:
            pass
        try:
            filler.close()
        except OSError:
            pass  # the last buffered bytes did not fit either
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


@pytest.fixture
def unwritable(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the storage's directory should be")
    return blocker / "private"


def originals_on(monkeypatch, root: Path) -> None:
    """Photo originals stored under `root` (the field's storage is fixed when models load)."""
    field = Photo._meta.get_field("original")
    monkeypatch.setattr(field, "storage", FileSystemStorage(location=str(root),
                                                            base_url="/private-media/"))


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
            and p.name != "filler"} if root.exists() else set()


@pytest.mark.parametrize("fault", ["full", "unwritable"])
def test_report_post_fails_cleanly_when_photo_storage_fails(fault, request, city, client,
                                                            monkeypatch):
    # given photo storage that is full (a real filesystem) or cannot be written at all
    root = request.getfixturevalue("full_disk" if fault == "full" else "unwritable")
    originals_on(monkeypatch, root)
    files_before = _files(root) if root.is_dir() else set()
    counts = (Report.objects.count(), Photo.objects.count(), ReportEvent.objects.count())
    # when a report with two photos is posted
    response = client.post("/api/v1/reports/", {
        "category": "pothole", "lat": 48.4647, "lon": 35.0462, "description": "Pothole",
        "photos": [f.image_file("a.jpg", size=(600, 400)),
                   f.image_file("b.png", size=(300, 200), fmt="PNG")],
    })
    # then it is refused as a temporary outage, in the API's error format
    assert response.status_code == 503, response.content
    body = response.json()
    assert body["code"] == "storage_unavailable" and body["message"]
    assert response["Retry-After"]
    # and nothing of the report was kept: no rows, no files
    assert (Report.objects.count(), Photo.objects.count(),
            ReportEvent.objects.count()) == counts
    assert (_files(root) if root.is_dir() else set()) == files_before
    tally("fault", scenario=f"storage-{fault}", injected=1, survived=True)


def test_storage_with_room_again_takes_the_same_report(city, client, tmp_path, monkeypatch):
    # given storage that works (the outage is over)
    originals_on(monkeypatch, tmp_path / "ok")
    # when the same report is posted again
    response = client.post("/api/v1/reports/", {
        "category": "pothole", "lat": 48.4647, "lon": 35.0462, "description": "Pothole",
        "photos": [f.image_file("a.jpg", size=(600, 400))]})
    # then it is created with its photo on disk
    assert response.status_code == 201, response.content
    photo = Photo.objects.get(report_id=response.json()["number"])
    assert os.path.exists(photo.original.path)
