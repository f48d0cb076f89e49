"""A resident reports problems in a real browser (Debian's Chromium, phone-sized).

Scenarios from issue 6: a pothole with a photo by clicking the map (with the duplicate
suggestion), an explosive object behind the full-screen ДСНС warning, and a report made with
the keyboard only from a typed address. Plus: all six kinds of extra questions, a photo's GPS
position, and server errors shown next to their fields without losing what was typed.
"""

from __future__ import annotations

import io

import pytest
from django.contrib.gis.geos import Point
from PIL import ExifTags, Image
from pillow_heif import register_heif_opener
from playwright.sync_api import expect

from layers.geometry import lat_lon, to_storage
from reports.models import CategoryAttribute, Report

from .. import factories as f
from ..browser import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DT = CategoryAttribute.Datatype
register_heif_opener()  # Pillow writes the HEIC test photo


def _photo(*, gps: tuple[float, float] | None = None, colour=(170, 90, 40),
           fmt: str = "JPEG") -> bytes:
    """A real JPEG (or HEIF/HEIC); with `gps` it carries an EXIF GPS position."""
    image = Image.new("RGB", (800, 600), colour)
    buf = io.BytesIO()
    kwargs = {}
    if gps:
        def dms(value: float) -> tuple[float, float, float]:
            d = int(value)
            m = int((value - d) * 60)
            return (d, m, round(((value - d) * 60 - m) * 60, 4))

        exif = Image.Exif()
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
        info[ExifTags.GPS.GPSLatitudeRef] = "N"
        info[ExifTags.GPS.GPSLatitude] = dms(gps[0])
        info[ExifTags.GPS.GPSLongitudeRef] = "E"
        info[ExifTags.GPS.GPSLongitude] = dms(gps[1])
        kwargs["exif"] = exif.tobytes()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def _errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def _click_map_centre(page, selector: str = "#pick-map") -> None:
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


@pytest.fixture
def pothole_size(city):
    return f.CategoryAttributeFactory(
        category=city.pothole, code="size", datatype=DT.SINGLEVALUELIST, required=True,
        description_uk="Розмір ями", description_en="Pothole size",
        values=[{"key": "small", "name_uk": "Мала", "name_en": "Small"},
                {"key": "deep", "name_uk": "Глибока", "name_en": "Deep"}],
    )


def test_pothole_with_a_photo_by_clicking_the_map(page, live_server, city, pothole_size):
    errors = _errors(page)
    # given an open pothole report 36 m from the city centre
    existing = f.ReportFactory(category=city.pothole, department=city.roads,
                               location=f.offset(city.centre, 30, 20),
                               description="Велика яма біля зупинки")
    # when a resident starts from the map page
    page.goto("/")
    expect(page.locator("#report-cta")).to_be_visible()
    shot(page, "resident-1-map")
    page.click("#report-cta")
    page.wait_for_url("**/report/new/**")
    # and taps the map, then picks the category
    _click_map_centre(page)
    expect(page.locator("#location-status")).to_contain_text("Місце вибрано")
    page.click(".cat-option:has-text('Яма')")
    # then the nearby open pothole is suggested: "support it instead"
    expect(page.locator("#duplicates")).to_be_visible()
    expect(page.locator("#dup-list")).to_contain_text(f"№{existing.pk}")
    expect(page.locator("#dup-list button")).to_have_text("Підтримати це звернення")
    shot(page, "resident-1-duplicates")
    # when they go on with a new report: the question, a description, a photo, an e-mail
    page.check("#attributes input[value=deep]")
    page.fill("#description", "Нова яма на переході, глибока, біля аптеки")
    page.set_input_files("#photos", files=[{"name": "yama.jpg", "mimeType": "image/jpeg",
                                             "buffer": _photo()}])
    expect(page.locator("#photo-list")).to_contain_text("Готово")
    page.fill("#contact_email", "anna@example.org")
    shot(page, "resident-1-form-filled")
    page.click("#submit")
    page.wait_for_url("**/submitted/")
    # then the report exists, routed, with its answer, photo and private contact
    report = Report.objects.exclude(pk=existing.pk).get()
    assert report.category == city.pothole and report.department == city.roads
    assert report.attributes == {"size": "deep"}
    assert report.contact_email == "anna@example.org"
    assert report.photos.count() == 1
    assert report.source == "web"
    # and the confirmation names the number, the department and the due date
    expect(page.locator(".report-number")).to_have_text(f"№{report.pk}")
    expect(page.locator(".department")).to_have_text("Міськдор")
    shot(page, "resident-1-submitted")
    # and the report page shows it, with the processed photo and no contact data
    page.click("text=Відкрити звернення")
    page.wait_for_url(f"**/reports/{report.pk}/")
    expect(page.locator(".description")).to_contain_text("Нова яма на переході")
    expect(page.locator(".photos img")).to_have_count(1)
    expect(page.locator("main")).not_to_contain_text("anna@example.org")
    shot(page, "resident-1-report-page")
    assert errors == []


def test_supporting_the_suggested_duplicate_instead(page, live_server, city):
    existing = f.ReportFactory(category=city.pothole, department=city.roads,
                               location=f.offset(city.centre, 20, 0))
    page.goto("/report/new/")
    _click_map_centre(page)
    page.click(".cat-option:has-text('Яма')")
    page.fill("#support-email", "petro@example.org")
    page.click("#dup-list button")
    expect(page.locator("#dup-status")).to_contain_text(f"№{existing.pk}")
    existing.refresh_from_db()
    assert existing.supporters_count == 1
    assert Report.objects.count() == 1  # nothing new was created


def test_explosive_object_shows_the_safety_notice_and_goes_to_dsns(page, live_server, city):
    errors = _errors(page)
    page.goto("/report/new/")
    _click_map_centre(page)
    # when the resident picks "explosive object"
    page.click(".cat-option:has-text('Вибухонебезпечний предмет')")
    # then a full-screen warning that cannot be missed opens, with the rules and 101
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Не наближайтеся до предмета")
    expect(dialog.locator("a[href='tel:101']")).to_be_visible()
    expect(page.locator("#hazard-continue")).to_be_disabled()
    # and focus stays inside it: tabbing never reaches the form behind
    for _ in range(6):
        page.keyboard.press("Tab")
        assert page.evaluate(
            "document.activeElement.closest('[role=alertdialog]') !== null")
    shot(page, "resident-2-hazard-notice")
    # when they acknowledge explicitly
    page.check("#hazard-ack")
    page.click("#hazard-continue")
    expect(dialog).to_be_hidden()
    expect(page.locator("#hazard-reminder")).to_be_visible()
    page.fill("#description", "Схоже на снаряд біля паркану")
    page.click("#submit")
    page.wait_for_url("**/submitted/")
    # then it went to ДСНС, as a hazard, and the confirmation repeats the rules
    report = Report.objects.get()
    assert report.department == city.dsns and report.is_hazard
    expect(page.locator(".department")).to_have_text("ДСНС")
    expect(page.locator(".notice-hazard a[href='tel:101']")).to_be_visible()
    shot(page, "resident-2-submitted-dsns")
    # and its public page shows the approximate area only
    page.click("text=Відкрити звернення")
    expect(page.locator(".approx-note")).to_be_visible()
    assert errors == []


def test_hazard_zone_near_the_pin_shows_the_notice_before_sending(page, live_server, city):
    # given a (demo) suspected hazardous area around the city centre
    f.HazardZoneFactory(name="Лісосмуга", geometry=f.around_centre(150), is_demo=True)
    page.goto("/report/new/")
    page.click(".cat-option:has-text('Графіті')")
    page.fill("#description", "Графіті на зупинці")
    _click_map_centre(page)
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("зоні мінної небезпеки")
    expect(dialog).to_contain_text("Вигадані демонстраційні дані")
    page.check("#hazard-ack")
    page.click("#hazard-continue")
    page.click("#submit")
    page.wait_for_url("**/submitted/")
    assert Report.objects.get().department == city.dsns


def test_report_by_typed_address_with_the_keyboard_only(page, live_server, city):
    # given the local gazetteer knows the address
    place = f.offset(city.centre, 400, -300)
    f.AddressPointFactory(street_uk="вулиця Шевченка", street_en="Shevchenka Street",
                          house_number="12", location=place)
    f.AddressPointFactory(street_uk="вулиця Шевченка", street_en="Shevchenka Street",
                          house_number="14", location=f.offset(place, 30, 0))
    page.goto("/report/new/")
    # when the resident types the address and chooses it with the arrow keys
    page.focus("#address")
    page.keyboard.type("Шевченка 12")
    expect(page.locator("#address-list")).to_be_visible()
    expect(page.locator("#address")).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#address")).to_have_attribute("aria-activedescendant", "address-list-0")
    page.keyboard.press("Enter")
    expect(page.locator("#location-status")).to_contain_text("вулиця Шевченка, 12")
    # and moves on with Tab to the category search, filters, picks with the keyboard
    page.focus("#category-search")
    page.keyboard.type("ліхтар")
    page.keyboard.press("Enter")  # to the first matching category
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    expect(page.locator("#category-chosen")).to_contain_text("Ліхтар")
    page.focus("#description")
    page.keyboard.type("Не світить ліхтар біля під'їзду")
    shot(page, "resident-3-keyboard-address")
    page.focus("#submit")
    page.keyboard.press("Enter")
    page.wait_for_url("**/submitted/")
    # then the report sits at the chosen address, routed to the lighting department
    report = Report.objects.get()
    assert report.category == city.streetlight and report.department == city.lighting
    assert report.address == "вулиця Шевченка, 12"
    assert report.location.distance(place) < 1
    shot(page, "resident-3-submitted")


def test_all_six_kinds_of_questions(page, live_server, city):
    # given a category asking one question of each datatype
    cat = city.graffiti
    listed = [{"key": "wall", "name_uk": "Стіна", "name_en": "Wall"},
              {"key": "fence", "name_uk": "Паркан", "name_en": "Fence"},
              {"key": "bus", "name_uk": "Зупинка", "name_en": "Bus stop"}]
    for order, (code, datatype, text) in enumerate([
        ("words", DT.STRING, "Що написано?"), ("area", DT.NUMBER, "Площа, м²"),
        ("seen", DT.DATETIME, "Коли помітили?"), ("more", DT.TEXT, "Подробиці"),
        ("surface", DT.SINGLEVALUELIST, "Де саме?"), ("kinds", DT.MULTIVALUELIST, "Що ще?"),
    ]):
        f.CategoryAttributeFactory(category=cat, code=code, datatype=datatype, order=order,
                                   required=code == "surface", description_uk=text,
                                   values=listed if "list" in datatype else [])
    page.goto("/report/new/")
    _click_map_centre(page)
    page.click(".cat-option:has-text('Графіті')")
    page.fill("#attr-words", "Слава Україні")
    page.fill("#attr-area", "2.5")
    page.fill("#attr-seen", "2026-11-20T09:30")
    page.fill("#attr-more", "Свіжа фарба")
    page.check("#attributes input[name=attr-surface][value=fence]")
    page.check("#attributes input[name=attr-kinds][value=wall]")
    page.check("#attributes input[name=attr-kinds][value=bus]")
    page.fill("#description", "Графіті на паркані")
    shot(page, "resident-questions")
    page.click("#submit")
    page.wait_for_url("**/submitted/")
    answers = Report.objects.get().attributes
    assert answers["words"] == "Слава Україні"
    assert answers["area"] == 2.5
    assert answers["seen"].startswith("2026-11-20")
    assert answers["more"] == "Свіжа фарба"
    assert answers["surface"] == "fence"
    assert answers["kinds"] == ["wall", "bus"]


def test_photo_location_is_offered_even_for_heic(page, live_server, city):
    # given an iPhone-style HEIC photo taken 780 m from the centre, with its GPS position
    photo_lat, photo_lon = lat_lon(f.offset(city.centre, -500, 600))
    page.goto("/report/new/")
    page.set_input_files("#photos", files=[{
        "name": "IMG_0042.HEIC", "mimeType": "image/heic",
        "buffer": _photo(gps=(photo_lat, photo_lon), fmt="HEIF")}])
    # then the form offers the photo's position, and uses it when asked
    button = page.locator("#photo-list button:has-text('Взяти місце з фото')")
    expect(button).to_be_visible()
    shot(page, "resident-photo-location")
    button.click()
    expect(page.locator("#location-status")).to_contain_text("Місце вибрано")
    page.click(".cat-option:has-text('Графіті')")
    page.fill("#description", "Графіті")
    page.click("#submit")
    page.wait_for_url("**/submitted/")
    report = Report.objects.get()
    assert report.location.distance(to_storage(Point(photo_lon, photo_lat, srid=4326))) < 5
    assert report.photos.get().format == "heic"


def test_server_errors_sit_next_to_their_fields_and_nothing_is_lost(page, live_server, city):
    # given a pin (from the map's "report here" link) 25 km north, outside the service area
    far_lat, far_lon = lat_lon(f.offset(city.centre, 0, 25_000))
    page.goto(f"/report/new/?lat={far_lat}&lon={far_lon}")
    expect(page.locator("#location-status")).to_contain_text("Місце вибрано")
    page.click(".cat-option:has-text('Графіті')")
    page.fill("#description", "Текст, який не можна втратити")
    # when it is sent
    page.click("#submit")
    # then the server's refusal is shown at the place field and in the summary
    expect(page.locator("#location-error")).to_be_visible()
    expect(page.locator("#location-error")).to_contain_text("від межі громади")
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#description")).to_have_value("Текст, який не можна втратити")
    shot(page, "resident-errors-next-to-fields")
    assert Report.objects.count() == 0
    # and after a reload the draft is still there
    page.reload()
    expect(page.locator("#description")).to_have_value("Текст, який не можна втратити")
    expect(page.locator("#category-chosen")).to_contain_text("Графіті")


def test_client_side_check_before_any_request(page, live_server, city):
    page.goto("/report/new/")
    posted = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    page.click("#submit")
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#location-error")).to_be_visible()
    expect(page.locator("#category-error")).to_be_visible()
    expect(page.locator("#description-error")).to_be_visible()
    assert posted == []


def test_a_lost_answer_and_a_second_tap_make_one_report(page, live_server, city):
    # given a network that loses the server's answer to the first POST (the report is made)
    attempts = []

    def lose_first_answer(route):
        if route.request.method != "POST":
            route.continue_()
            return
        attempts.append(route.request.headers.get("idempotency-key"))
        if len(attempts) == 1:
            route.fetch()  # the server receives it and creates the report
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/reports/", lose_first_answer)
    page.goto("/report/new/")
    _click_map_centre(page)
    page.click(".cat-option:has-text('Графіті')")
    page.fill("#description", "Графіті на стіні школи")
    # when the resident sends, sees the connection error, and taps again
    page.click("#submit")
    expect(page.locator("#error-summary")).to_contain_text("Немає зв’язку")
    expect(page.locator("#description")).to_have_value("Графіті на стіні школи")
    page.click("#submit")
    page.wait_for_url("**/submitted/")
    # then both tries carried the same Idempotency-Key and only one report exists
    assert len(attempts) == 2 and attempts[0] and attempts[0] == attempts[1]
    assert Report.objects.count() == 1


def test_my_location_and_the_keyboard_on_the_map(page, live_server, city):
    # "use my location": the browser's position becomes the pin
    here_lat, here_lon = lat_lon(f.offset(city.centre, 250, 250))
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": here_lat, "longitude": here_lon})
    page.goto("/report/new/")
    page.click("#use-location")
    expect(page.locator("#location-status")).to_contain_text("Місце вибрано")
    # and a keyboard user can move the map and drop the pin at its centre with Enter
    page.focus("#pick-map")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.click(".cat-option:has-text('Графіті')")
    page.fill("#description", "Графіті біля школи")
    page.click("#submit")
    page.wait_for_url("**/submitted/")
    moved = Report.objects.get().location
    assert 0 < moved.distance(f.offset(city.centre, 250, 250)) < 500  # panned, then dropped
