"""A urlconf with only the API (plus the member page the API links to), for tests that must not depend on the UI."""

from django.http import HttpResponse
from django.urls import include, path

from onecard.core import api_views


def _member_page(request, pk):
    return HttpResponse(str(pk))


members_ui = ([path("<int:pk>/", _member_page, name="detail")], "members")

urlpatterns = [
    path("members/", include(members_ui)),
    path("api/v1/", include("onecard.api_urls")),
]

handler404 = api_views.page_not_found  # as the project's urlconf: the API's errors never render a page
handler500 = api_views.server_error
