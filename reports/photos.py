"""The photo pipeline (Pillow, with HEIC through pillow-heif).

`photo_inspect` runs before anything is saved: it decodes the whole image (never trusting
the name or MIME type), enforces the byte and pixel limits with the decompression-bomb guard
on, and reads the EXIF GPS position. `photo_render` makes the public versions: rotated by
EXIF orientation, metadata stripped, ~1600 px display and ~320 px thumbnail.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from fractions import Fraction

from django.conf import settings
from django.core.files.base import ContentFile
from PIL import ExifTags, Image, ImageFile, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from geocity.errors import ValidationFailed

from .models import Photo

register_heif_opener()
ImageFile.LOAD_TRUNCATED_IMAGES = False
# Pillow raises DecompressionBombError above twice this; warnings are made errors below.
Image.MAX_IMAGE_PIXELS = settings.PHOTO_MAX_PIXELS

logger = logging.getLogger(__name__)

ACCEPTED_FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp", "HEIF": "heic"}


class PhotoRejected(ValidationFailed):
    code = "photo_invalid"


@dataclass(frozen=True)
class InspectedPhoto:
    format: str
    width: int
    height: int
    size: int
    gps: tuple[float, float] | None  # (lat, lon) in WGS 84


def _read(upload) -> bytes:
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    return data


def _dms_to_degrees(dms, ref: str) -> float:
    degrees = sum(float(Fraction(v).limit_denominator(10**6)) / 60**i for i, v in enumerate(dms))
    return -degrees if ref in ("S", "W") else degrees


def read_gps(image: Image.Image) -> tuple[float, float] | None:
    """(lat, lon) from EXIF GPSInfo, or None when absent or nonsensical."""
    try:
        gps = image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:  # noqa: BLE001 - broken EXIF must not reject an otherwise good photo
        return None
    try:
        lat = _dms_to_degrees(gps[ExifTags.GPS.GPSLatitude],
                              gps.get(ExifTags.GPS.GPSLatitudeRef, "N"))
        lon = _dms_to_degrees(gps[ExifTags.GPS.GPSLongitude],
                              gps.get(ExifTags.GPS.GPSLongitudeRef, "E"))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return round(lat, 7), round(lon, 7)


def photo_inspect(upload, *, name: str = "photo") -> InspectedPhoto:
    """Decode and check an uploaded photo. Raises PhotoRejected with a reason code."""
    size = getattr(upload, "size", None)
    if size is None:
        size = len(_read(upload))
    limit_mb = settings.PHOTO_MAX_BYTES // (1024 * 1024)
    if size > settings.PHOTO_MAX_BYTES:
        raise PhotoRejected(
            f"{name}: the file is {size / 1024 / 1024:.1f} MB; the limit is {limit_mb} MB.",
            code="photo_too_big",
            fields={"photos": [f"{name}: larger than {limit_mb} MB."]},
        )
    if size == 0:
        raise PhotoRejected(f"{name}: the file is empty.", code="photo_corrupt",
                            fields={"photos": [f"{name}: empty file."]})
    data = _read(upload)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except UnidentifiedImageError as exc:
            raise PhotoRejected(
                f"{name}: not an image (accepted: JPEG, PNG, WebP, HEIC).",
                code="photo_wrong_type",
                fields={"photos": [f"{name}: not a JPEG, PNG, WebP or HEIC image."]},
            ) from exc
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _too_many_pixels(name) from exc
        if image.format not in ACCEPTED_FORMATS:
            raise PhotoRejected(
                f"{name}: {image.format} images are not accepted (JPEG, PNG, WebP, HEIC).",
                code="photo_wrong_type",
                fields={"photos": [f"{name}: {image.format} is not accepted."]},
            )
        width, height = image.size
        if width * height > settings.PHOTO_MAX_PIXELS:
            raise _too_many_pixels(name, width, height)
        gps = read_gps(image)
        try:
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _too_many_pixels(name) from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise PhotoRejected(
                f"{name}: the image is damaged or truncated ({exc}).",
                code="photo_corrupt",
                fields={"photos": [f"{name}: damaged or truncated image."]},
            ) from exc
    return InspectedPhoto(ACCEPTED_FORMATS[image.format], width, height, size, gps)


def _too_many_pixels(name: str, width: int = 0, height: int = 0) -> PhotoRejected:
    limit = settings.PHOTO_MAX_PIXELS // 1_000_000
    dims = f" ({width}×{height})" if width else ""
    return PhotoRejected(
        f"{name}: the image{dims} has more than {limit} megapixels.",
        code="photo_too_many_pixels",
        fields={"photos": [f"{name}: more than {limit} megapixels."]},
    )


def _jpeg(image: Image.Image, longest: int) -> bytes:
    copy = image.copy()
    copy.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # No exif=, icc_profile= or comment: the public file carries no metadata at all.
    copy.save(out, format="JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue()


def photo_render(original: bytes) -> tuple[bytes, bytes]:
    """(display JPEG, thumbnail JPEG): upright, RGB, stripped of every metadata block."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(original))
        image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    elif image.mode != "RGB":
        image = image.convert("RGB")
    # A fresh image: drops info (exif, icc, xmp) that survived the conversions.
    clean = Image.new("RGB", image.size)
    clean.paste(image)
    return _jpeg(clean, settings.PHOTO_DISPLAY_PX), _jpeg(clean, settings.PHOTO_THUMB_PX)


def photo_process(*, photo_id: int) -> str:
    """Make the stripped display and thumbnail versions of a stored original (after the
    commit that stored it). Returns the photo's new state, or "missing"."""
    photo = Photo.objects.filter(pk=photo_id).first()
    if photo is None:
        return "missing"
    try:
        with photo.original.open("rb") as fh:
            display, thumb = photo_render(fh.read())
    except Exception:  # noqa: BLE001 - a photo that cannot be rendered must not break others
        logger.exception("Photo %s could not be rendered", photo_id)
        Photo.objects.filter(pk=photo_id).update(state=Photo.State.FAILED)
        return Photo.State.FAILED
    stem = f"{photo.report_id}-{photo.pk}"
    photo.display.save(f"{stem}-display.jpg", ContentFile(display), save=False)
    photo.thumbnail.save(f"{stem}-thumb.jpg", ContentFile(thumb), save=False)
    photo.state = Photo.State.READY
    photo.save(update_fields=["display", "thumbnail", "state"])
    return Photo.State.READY
