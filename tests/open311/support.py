"""Shared pieces of the Open311 suite (no tests here): API keys, parsing both formats.

The other test_open311_* modules import these fixtures explicitly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from xml.etree import ElementTree as ET

import pytest
from django.test import Client

from open311.models import ApiClient
from open311.services import api_key_create

BASE = "/open311/v2"
FORMATS = ("json", "xml")
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>'


@dataclass
class Key:
    client: ApiClient
    key: str


@pytest.fixture
def key(city) -> Key:
    """A client application's key, allowed to push updates for the roads department."""
    client, raw = api_key_create(name="Mobile app", contact="dev@example.org")
    client.departments.set([city.roads])
    return Key(client, raw)


@pytest.fixture
def web() -> Client:
    return Client()


def xml_value(element: ET.Element):
    """An element as plain data: text, or a dict of children (repeated children -> list)."""
    children = list(element)
    if not children:
        return element.text
    data: dict = {}
    for child in children:
        value = xml_value(child)
        if child.tag in data:
            if not isinstance(data[child.tag], list):
                data[child.tag] = [data[child.tag]]
            data[child.tag].append(value)
        else:
            data[child.tag] = value
    return data


def parse(response, fmt: str):
    """The body as Python data, checking the format's envelope on the way.

    JSON: as is. XML: (root tag, [items] for list roots / dict for object roots).
    """
    if fmt == "json":
        assert response["Content-Type"].startswith("application/json")
        return json.loads(response.content.decode("utf-8"))
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.startswith(XML_DECLARATION)
    root = ET.fromstring(response.content)
    return root.tag, [xml_value(child) for child in root], xml_value(root)


def items(response, fmt: str, root: str, item: str) -> list[dict]:
    """A list resource as a list of dicts, whichever the format (XML text stays text)."""
    data = parse(response, fmt)
    if fmt == "json":
        assert isinstance(data, list)
        return data
    tag, children, _ = data
    assert tag == root
    root_el = ET.fromstring(response.content)
    assert all(child.tag == item for child in root_el)
    return children


def errors(response, fmt: str) -> list[dict]:
    """The spec's error array: [{code, description}], codes as ints."""
    found = items(response, fmt, "errors", "error")
    assert found, "an error response must carry at least one error"
    for error in found:
        assert set(error) == {"code", "description"}
        assert int(error["code"]) == response.status_code
        assert error["description"]
    return found
