"""Serve exactly the npm files the pages use (settings.NPM_ASSETS), nothing else of node_modules.

Exposing whole packages would publish thousands of unused ES modules whose bare imports
(`import RBush from "rbush"`) break the hashed-name rewriting of ManifestStaticFilesStorage in
production. The mapping names a directory (all of it is served) or a single file.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import utils
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage


class NpmFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        self.root = Path(settings.NODE_MODULES)
        self.mapping: dict[str, Path] = {
            url.strip("/"): self.root / source for url, source in settings.NPM_ASSETS.items()
        }

    def check(self, **kwargs):
        return [
            Error(f"NPM_ASSETS[{url!r}] -> {path} does not exist; run `npm ci`.",
                  id="geocity.E010")
            for url, path in self.mapping.items() if not path.exists()
        ]

    def find(self, path, find_all=False, **kwargs):
        matches = []
        for url, source in self.mapping.items():
            if source.is_file() and path == url:
                matches.append(str(source))
            elif source.is_dir() and path.startswith(url + "/"):
                candidate = source / path[len(url) + 1:]
                if candidate.is_file() and candidate.resolve().is_relative_to(source.resolve()):
                    matches.append(str(candidate))
            if matches and not find_all:
                return matches[0]
        return matches if find_all else []

    def list(self, ignore_patterns):
        for url, source in self.mapping.items():
            if source.is_file():
                storage = FileSystemStorage(location=str(source.parent))
                storage.prefix = str(Path(url).parent)
                yield source.name, storage
            elif source.is_dir():
                storage = FileSystemStorage(location=str(source))
                storage.prefix = url
                for path in utils.get_files(storage, ignore_patterns):
                    yield path, storage
