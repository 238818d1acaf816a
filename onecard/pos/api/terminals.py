"""Staff API of terminal set-up (/api/v1/terminals/): register, list, rotate the secret, deactivate.

A staff API, not a terminal one: it takes staff tokens or sessions and permission `terminals.manage`,
scoped like the Terminals page. The secret is answered once, by the call that issues it (register,
rotate), with `Cache-Control: no-store`; reads never carry it.
"""

from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from onecard.core.api import IdField, permission_map
from onecard.core.api_base import ApiViewSet
from onecard.core.errors import ValidationFailed
from onecard.org.models import OrgNode
from onecard.org.queries import merchant_ids_for
from onecard.pos import services
from onecard.pos.choices import TerminalKind

PERMISSION = "terminals.manage"


class TerminalSerializer(serializers.Serializer):
    id = IdField(help_text="The database id, for the URLs of this API.")
    terminal_id = serializers.CharField(help_text="The public id the terminal sends as X-Terminal-Id.")
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=TerminalKind.choices)
    store = IdField(source="store_id")
    store_code = serializers.CharField(source="store.code")
    store_name = serializers.CharField(source="store.name")
    is_active = serializers.BooleanField()
    secret_rotated_at = serializers.DateTimeField(
        allow_null=True, help_text="When the current secret was issued."
    )
    last_seen_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class IssuedTerminalSerializer(serializers.Serializer):
    terminal = TerminalSerializer()
    secret = serializers.CharField(
        help_text="The HMAC key, 43 URL-safe characters. Answered this once: no call shows it again."
    )


class TerminalCreateSerializer(serializers.Serializer):
    store = IdField(help_text="A store in your scope.")
    name = serializers.CharField(max_length=100, help_text="e.g. Till 1, front desk PC")
    kind = serializers.ChoiceField(choices=TerminalKind.choices, default=TerminalKind.POS)


def _issued(issued, status_code):
    body = IssuedTerminalSerializer({"terminal": issued.terminal, "secret": issued.secret}).data
    response = Response(body, status=status_code)
    add_never_cache_headers(response)  # the secret must not stay in any cache
    return response


def _action_schema(summary, answer):
    return extend_schema(summary=summary, request=None, responses={200: answer}, tags=["terminals"])


@extend_schema_view(
    list=extend_schema(summary="Terminals of the stores in your scope (no secrets)", tags=["terminals"]),
    retrieve=extend_schema(summary="One terminal (no secret)", tags=["terminals"]),
)
class TerminalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = TerminalSerializer
    http_method_names = ["get", "post", "head", "options"]
    required_permissions = permission_map(PERMISSION, PERMISSION, rotate=PERMISSION, deactivate=PERMISSION)

    def get_queryset(self):
        return services.scoped_terminals(self.request.user).order_by("store__path", "terminal_id")

    @extend_schema(
        summary="Register a terminal at a store; the answer carries its secret, this once",
        request=TerminalCreateSerializer,
        responses={201: IssuedTerminalSerializer},
        tags=["terminals"],
    )
    def create(self, request, *args, **kwargs):
        values = self.validated(TerminalCreateSerializer)
        store = OrgNode.objects.filter(
            pk=values.pop("store"), merchant_id__in=merchant_ids_for(request.user)
        ).first()
        if store is None:
            raise ValidationFailed({"store": [_("Unknown org node.")]})
        return _issued(
            services.register_terminal(request.user, store=store, **values), status.HTTP_201_CREATED
        )

    @_action_schema(
        "Issue a new secret; the old one stops working at once. The answer carries it, this once",
        IssuedTerminalSerializer,
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        return _issued(services.rotate_secret(request.user, self.get_object()), status.HTTP_200_OK)

    @_action_schema(
        "Deactivate a terminal for good: its signed requests are refused from now on", TerminalSerializer
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        terminal = services.deactivate_terminal(request.user, self.get_object())
        return Response(TerminalSerializer(terminal).data)
