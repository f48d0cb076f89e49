"""Static files: only the npm files the pages use, and a production collectstatic that works."""

import subprocess
import sys
from pathlib import Path

from django.contrib.staticfiles import finders

ROOT = Path(__file__).resolve().parent.parent


def test_npm_files_are_served_one_by_one():
    assert finders.find("vendor/leaflet/leaflet.js")
    assert finders.find("vendor/leaflet/images/layers.png")
    assert finders.find("vendor/ol/dist/ol.js")
    # the rest of the package is not published
    assert not finders.find("vendor/ol/dist/Collection.js")
    assert not finders.find("vendor/leaflet/../../package.json")


def test_production_collectstatic_hashes_module_imports(tmp_path):
    import os

    env = dict(os.environ, STATIC_ROOT=str(tmp_path), SECRET_KEY="k" * 64,
               DJANGO_SETTINGS_MODULE="geocity.settings.production")
    result = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    [map_js] = [p for p in tmp_path.glob("js/map.*.js") if not p.name.endswith(".gz")
                and p.name.count(".") == 2]
    imports = [line for line in map_js.read_text().splitlines() if line.startswith("import")]
    assert imports and all(".js" in line for line in imports)
    assert not any('from "./common.js"' in line for line in imports)  # hashed names only
