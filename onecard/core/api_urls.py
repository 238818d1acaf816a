"""API routes of core, org and members; later apps register theirs on the same router."""

from rest_framework.routers import DefaultRouter

router = DefaultRouter()
urlpatterns = router.urls
