"""Open311 GeoReport v2, mounted at /open311/v2/. Every resource ends in .json or .xml."""

from django.http import HttpRequest, HttpResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt

from . import apis
from .protocol import error_response

FMT = r"\.(?P<fmt>json|xml)$"
RESOURCES = (
    "discovery, services, services/{service_code}, requests, requests/{service_request_id}, "
    "tokens/{token}, servicerequestupdates"
)


@csrf_exempt
def unknown_resource(request: HttpRequest, path: str = "") -> HttpResponse:
    """Anything else: the spec's 404, in XML when the path ends in .xml."""
    fmt = "xml" if request.path.endswith(".xml") else "json"
    return error_response(
        fmt, 404,
        [f"Unknown Open311 resource {path!r}. Resources: {RESOURCES}, each ending in .json "
         f"or .xml."],
    )


app_name = "open311"
urlpatterns = [
    re_path(r"^discovery" + FMT, apis.discovery, name="discovery"),
    re_path(r"^services" + FMT, apis.service_list, name="services"),
    re_path(r"^services/(?P<service_code>[^/]+)" + FMT, apis.service_definition,
            name="service"),
    re_path(r"^requests" + FMT, apis.requests_view, name="requests"),
    re_path(r"^requests/(?P<service_request_id>[^/]+)" + FMT, apis.request_detail,
            name="request"),
    re_path(r"^tokens/(?P<token>[^/]+)" + FMT, apis.token_detail, name="token"),
    re_path(r"^servicerequestupdates" + FMT, apis.updates_view, name="updates"),
    re_path(r"^(?P<path>.*)$", unknown_resource, name="unknown"),
]
