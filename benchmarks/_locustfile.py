"""Locust users for benchmarks/load.py: residents, clerks and officials of the demo city.

Residents (most users) look at the map: a 3 x 3 viewport of report tiles at z10-z16 around
popular places, a heat tile, the report list of the view, sometimes a report page, and
now and then send a report with a photo. Clerks (staff.roads) work their queue: the queue
page, a ticket, and a status change back and forth on a report of their own. Officials
open the dashboard. Names group requests by type; tiles that nginx answered from its cache
are also counted as `CACHE tiles (nginx HIT)`, so their latency is seen apart.

Not a benchmark module itself (the leading underscore keeps `python -m benchmarks` away):
run by load.py as `locust -f benchmarks/_locustfile.py`.
"""

from __future__ import annotations

import io
import math
import random
import re
import time

from locust import FastHttpUser, between, events, task

CENTRE = (35.0462, 48.4647)  # lon, lat: the demo city
PASSWORD = "demo"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# Popular places: most views fall on a few neighbourhoods, as on a real city map.
PLACES = [(CENTRE[0] + dx * 0.012, CENTRE[1] + dy * 0.008)
          for dx in range(-3, 4) for dy in range(-3, 4)]
ZOOMS = (10, 12, 13, 14, 15, 16)


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    lat_r = math.radians(lat)
    y = int((1 - math.asinh(math.tan(lat_r)) / math.pi) / 2 * n)
    return x, y


def _photo() -> bytes:
    from PIL import Image

    image = Image.new("RGB", (800, 600))
    pixels = image.load()
    for i in range(0, 800, 4):
        for j in range(0, 600, 4):
            pixels[i, j] = (i % 256, j % 256, (i * j) % 256)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


PHOTO = _photo()


class CityUser(FastHttpUser):
    abstract = True
    insecure = True  # the stack's self-signed certificate

    def _referer(self) -> dict[str, str]:
        return {"Referer": self.host.rstrip("/") + "/"}

    def _csrf_headers(self) -> dict[str, str]:
        token = ""
        for cookie in self.client.cookiejar:
            if cookie.name == "csrftoken":
                token = cookie.value
        return {**self._referer(), "X-CSRFToken": token}

    def login(self, username: str) -> None:
        page = self.client.get("/accounts/login/", name="login page")
        match = CSRF_INPUT.search(page.text or "")
        with self.client.post("/accounts/login/", name="login",
                              data={"username": username, "password": PASSWORD,
                                    "csrfmiddlewaretoken": match.group(1) if match else ""},
                              headers=self._referer(), allow_redirects=False,
                              catch_response=True) as response:
            # A refused sign-in answers 200 with the form again: the user's requests would
            # then measure the sign-in page, so it counts as an error.
            if response.status_code != 302:
                response.failure(f"sign-in as {username} refused (HTTP {response.status_code})")

    def get_tile(self, url: str, name: str) -> None:
        started = time.perf_counter()
        with self.client.get(url, name=name, catch_response=True,
                             headers={"Accept-Encoding": "gzip"}) as response:
            if response.status_code in (200, 204, 304):
                response.success()
                if response.headers.get("X-Cache-Status") == "HIT":
                    events.request.fire(
                        request_type="CACHE", name="tiles (nginx HIT)",
                        response_time=(time.perf_counter() - started) * 1000,
                        response_length=len(response.content or b""), exception=None,
                        context={})
            else:
                response.failure(f"HTTP {response.status_code}")


class Resident(CityUser):
    weight = 16
    wait_time = between(1, 4)

    def on_start(self) -> None:
        self.place = random.choice(PLACES)

    @task(10)
    def map_view(self) -> None:
        if random.random() < 0.2:
            self.place = random.choice(PLACES)
        z = random.choice(ZOOMS)
        cx, cy = _tile(*self.place, z)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                self.get_tile(f"/tiles/reports/{z}/{cx + dx}/{cy + dy}.pbf", f"tile z{z}")

    @task(2)
    def heat(self) -> None:
        z = random.choice((11, 12))
        x, y = _tile(*self.place, z)
        self.get_tile(f"/tiles/heat/{z}/{x}/{y}.png", "heat tile")

    @task(4)
    def report_list(self) -> None:
        lon, lat = self.place
        bbox = f"{lon - 0.01:.5f},{lat - 0.007:.5f},{lon + 0.01:.5f},{lat + 0.007:.5f}"
        with self.client.get(f"/api/v1/reports/?in_bbox={bbox}&page_size=50",
                             name="report list (API)", catch_response=True) as response:
            features = (response.json() or {}).get("features", []) if response.ok else []
            if features and random.random() < 0.5:
                number = random.choice(features)["properties"]["number"]
                self.client.get(f"/reports/{number}/", name="report page")

    @task(1)
    def open311(self) -> None:
        self.client.get("/open311/v2/requests.json?status=open", name="Open311 requests")

    @task(1)
    def send_report(self) -> None:
        lon, lat = self.place
        self.client.post(
            "/api/v1/reports/", name="report POST (photo)",
            files={"photos": ("photo.jpg", PHOTO, "image/jpeg")},
            data={"category": random.choice(["damaged-pavement", "open-manhole", "road-sign",
                                             "overflowing-bins", "graffiti"]),
                  "lat": f"{lat + random.uniform(-0.004, 0.004):.6f}",
                  "lon": f"{lon + random.uniform(-0.006, 0.006):.6f}",
                  "description": "Load test: a problem on the street"},
            headers=self._referer())


class Clerk(CityUser):
    weight = 2
    wait_time = between(2, 6)

    def on_start(self) -> None:
        self.login("staff.roads")
        self.number = None
        self.status = "assigned"

    def _own_report(self) -> None:
        response = self.client.get("/api/v1/reports/?department=roads&status=assigned"
                                   "&page_size=200", name="queue (API)")
        features = (response.json() or {}).get("features", []) if response.ok else []
        if features:
            self.number = random.choice(features)["properties"]["number"]
            self.status = "assigned"

    @task(3)
    def queue(self) -> None:
        self.client.get("/workspace/?status=assigned", name="workspace queue")

    @task(2)
    def ticket(self) -> None:
        if self.number is None:
            self._own_report()
        if self.number is not None:
            self.client.get(f"/workspace/reports/{self.number}/", name="workspace ticket")

    @task(3)
    def transition(self) -> None:
        if self.number is None:
            self._own_report()
        if self.number is None:
            return
        to = "in_progress" if self.status == "assigned" else "assigned"
        with self.client.post(f"/api/v1/reports/{self.number}/transition/",
                              name="transition POST", json={"status": to, "note": ""},
                              headers=self._csrf_headers(), catch_response=True) as response:
            if response.status_code == 200:
                self.status = to
            elif response.status_code == 409:  # another clerk moved it first: pick another
                response.failure("409 conflict")
                self.number = None


class Official(CityUser):
    weight = 2
    wait_time = between(3, 8)

    def on_start(self) -> None:
        self.login("official")

    @task(3)
    def dashboard(self) -> None:
        period = random.choice(["30d", "30d", "90d", "7d"])
        self.client.get(f"/dashboard/?period={period}", name="dashboard")

    @task(1)
    def dashboard_department(self) -> None:
        self.client.get("/dashboard/?period=30d&department=" + random.choice(["1", "2", "3"]),
                        name="dashboard (department)")
