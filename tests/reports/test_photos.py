"""The photo pipeline: real files, real decoding, nothing saved on a bad one."""

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image
from pillow_heif import register_heif_opener

from geocity.errors import ValidationFailed
from reports.models import Photo, Report
from reports.photos import photo_inspect
from reports.services import report_create

from .. import factories as f

register_heif_opener()


def _gps_exif(lat=(48, 27, 52.92), lon=(35, 2, 46.32), orientation=None) -> bytes:
    exif = Image.Exif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = lat
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = lon
    exif[ExifTags.Base.Make] = "TestCam"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    return exif.tobytes()


def _png_bomb(width=20000, height=20000) -> bytes:
    """A small PNG whose header claims 20000 x 20000 pixels (a decompression bomb)."""
    raw = b"".join(b"\x00" + b"\x00" * ((width + 7) // 8) for _ in range(height))
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def _upload(name, data, content_type="image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.mark.parametrize(("name", "make", "code"), [
    ("notes.jpg", lambda: b"this is a text file, not a photo\n" * 10, "photo_wrong_type"),
    ("cut.jpg", lambda: f.image_file("x.jpg", size=(1200, 900)).read()[:4000], "photo_corrupt"),
    ("bomb.png", _png_bomb, "photo_too_many_pixels"),
    ("huge.jpg", lambda: f.image_file("x.jpg").read() + b"\0" * (15 * 1024 * 1024),
     "photo_too_big"),
    ("empty.jpg", lambda: b"", "photo_corrupt"),
    ("anim.gif", lambda: _gif(), "photo_wrong_type"),
])
def test_bad_files_are_rejected_with_a_reason(name, make, code):
    with pytest.raises(ValidationFailed) as err:
        photo_inspect(_upload(name, make()), name=name)
    assert err.value.code == code
    assert name in err.value.message


def _gif() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, format="GIF")
    return buf.getvalue()


@pytest.mark.django_db
def test_a_bad_photo_saves_nothing_of_the_report(city):
    with pytest.raises(ValidationFailed):
        report_create(category=city.pothole, location=city.centre, description="Hole",
                      photos=[f.image_file("ok.jpg"), _upload("bomb.png", _png_bomb())])
    assert Report.objects.count() == 0
    assert Photo.objects.count() == 0


@pytest.mark.parametrize(("fmt", "ext"), [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp"),
                                          ("HEIF", "heic")])
def test_accepted_formats(fmt, ext):
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 200, 30)).save(buf, format=fmt)
    info = photo_inspect(_upload(f"p.{ext}", buf.getvalue()), name=f"p.{ext}")
    assert (info.width, info.height) == (640, 480)


def test_gps_is_read_from_exif():
    upload = f.image_file("gps.jpg", exif=_gps_exif())
    info = photo_inspect(upload)
    assert info.gps == pytest.approx((48.4647, 35.0462), abs=1e-4)


@pytest.mark.django_db
def test_served_versions_carry_no_exif_and_are_upright(city, django_capture_on_commit_callbacks):
    # given a portrait photo stored sideways (EXIF orientation 6) with GPS and camera data
    upload = f.image_file("side.jpg", size=(1200, 800), exif=_gps_exif(orientation=6))
    # when it is attached to a report
    with django_capture_on_commit_callbacks(execute=True):
        report = report_create(category=city.pothole, location=city.centre,
                               description="Hole", photos=[upload])
    photo = report.photos.get()
    photo.refresh_from_db()
    # then the GPS was kept (privately) to offer it, the original keeps its EXIF for staff,
    assert photo.gps is not None and round(photo.gps.y, 3) == 48.465
    with photo.original.open("rb") as fh:
        assert Image.open(fh).getexif().get(ExifTags.Base.Make) == "TestCam"
    # and the public versions are rotated upright with no metadata at all
    for field, longest in ((photo.display, 1600), (photo.thumbnail, 320)):
        with field.open("rb") as fh:
            served = Image.open(io.BytesIO(fh.read()))
        assert len(served.getexif()) == 0
        assert "exif" not in served.info and "icc_profile" not in served.info
        assert served.height > served.width
        assert max(served.size) <= longest
