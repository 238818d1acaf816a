"""API of the personal-data access trail: GET /api/v1/members/{id}/access-log/ ("who saw my data", PIPL)."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.exceptions import PermissionDenied

from onecard.core.api import IdField
from onecard.core.api_base import ApiViewSet

from . import privacy
from .api import member_or_404
from .choices import AccessChannel, AccessKind
from .models import PersonalDataAccess


class PersonalDataAccessSerializer(serializers.ModelSerializer):
    """One look at the member's personal data: when, by whom, how, why, which fields."""

    id = IdField(read_only=True)
    actor = IdField(source="actor_id", read_only=True, allow_null=True)
    actor_name = serializers.SerializerMethodField()
    kind = serializers.ChoiceField(choices=AccessKind.choices, read_only=True)
    channel = serializers.ChoiceField(choices=AccessChannel.choices, read_only=True)
    fields = serializers.ListField(child=serializers.CharField(), read_only=True)
    address = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = PersonalDataAccess
        fields = [
            "id",
            "created_at",
            "actor",
            "actor_name",
            "kind",
            "purpose",
            "fields",
            "channel",
            "subject_count",
            "address",
        ]
        read_only_fields = fields

    def get_actor_name(self, access) -> str | None:
        return access.actor.get_username() if access.actor_id else None


@extend_schema_view(
    list=extend_schema(
        summary="Who saw this member's personal data (newest first, the latest 500; permission audit.view)"
    )
)
class MemberAccessLogViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = PersonalDataAccessSerializer
    pagination_class = None
    required_permissions = {"list": "audit.view"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PersonalDataAccess.objects.none()
        if not self.request.user.has_perm("members.view"):
            raise PermissionDenied()
        return privacy.access_report(member_or_404(self.request.user, self.kwargs["member_pk"]))
