"""Routes of the POS API, included under /api/v1/pos/ by core.api_urls.

Paths have no trailing slash: a redirect to add one would change the signed path.
"""

from django.urls import path

from . import api

urlpatterns = [
    path("ping", api.PingView.as_view(), name="pos-ping"),
    path("members/lookup", api.MemberLookupView.as_view(), name="pos-member-lookup"),
]
