"""API log-in and log-out (token), and "who am I" for a staff client."""

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from onecard.core.api import IdField, problem
from onecard.core.api_base import ProblemAutoSchema
from onecard.core.errors import BusinessError
from onecard.core.problems import problem_response

from . import lockout, second_factor
from . import services as org_services
from .api import RoleBriefSerializer
from .permissions import PERMISSIONS


class InvalidCredentials(BusinessError):
    code = "invalid_credentials"


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=20,
        help_text="For accounts with two-step verification: the 6-digit code of the authenticator app now, "
        "or a recovery code. Each code is accepted once.",
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`.")


class TokenThrottle(AnonRateThrottle):
    """Slows down password guessing: at most 30 attempts a minute from one address."""

    scope = "api_token"
    rate = "30/minute"

    def get_rate(self):
        return self.rate


class TokenView(APIView):
    """POST: exchange username and password for a token. DELETE: log out (the token stops working)."""

    authentication_classes = [TokenAuthentication]
    throttle_classes = [TokenThrottle]
    schema = ProblemAutoSchema()

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    def get_throttles(self):
        return super().get_throttles() if self.request.method == "POST" else []

    @extend_schema(
        operation_id="auth_token_create",
        request=TokenRequestSerializer,
        responses={
            200: TokenSerializer,
            400: problem(
                "invalid_credentials, validation_error; second_factor_required: the account has two-step "
                "verification and `otp` is missing; invalid_second_factor: a wrong or reused `otp`"
            ),
            403: problem(
                "second_factor_not_enrolled: the account's roles need two-step verification, which is set "
                "up by logging in on the web first"
            ),
            429: problem(
                "throttled: more than 30 attempts a minute from one address; login_locked: too many wrong "
                "passwords for this account or from this address, refused (even with the right password) "
                "until `extra.locked_until` or an administrator's unlock (both with Retry-After); "
                "second_factor_blocked: too many wrong codes for this account, refused until "
                "`extra.blocked_until`"
            ),
        },
        auth=[],
        tags=["auth"],
    )
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        staff = authenticate(
            request, username=data.validated_data["username"], password=data.validated_data["password"]
        )
        lock = lockout.refusing_lock(request)
        if lock is not None:
            response = problem_response(
                status.HTTP_429_TOO_MANY_REQUESTS,
                "login_locked",
                lockout.lockout_message(lock),
                extra={"locked_until": lock.until.isoformat()},
                instance=request.path,
            )
            response["Retry-After"] = str(lockout.seconds_left(lock))
            return response
        if staff is None or not staff.is_active:
            raise InvalidCredentials(_("Unable to log in with the given username and password."))
        _check_second_factor(staff, data.validated_data.get("otp", ""))
        return Response({"token": org_services.issue_api_token(staff)})

    @extend_schema(operation_id="auth_token_destroy", responses={204: None}, tags=["auth"])
    def delete(self, request):
        org_services.revoke_api_token(request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _check_second_factor(staff, otp):
    """A token is a log-in: an account with two-step verification sends its code as `otp`.

    Asked only after the right password, so the answer tells nothing to someone guessing passwords.
    """
    if not second_factor.needs_second_step(staff):
        return
    if second_factor.confirmed_factor(staff) is None:
        raise BusinessError(
            _(
                "This account needs two-step verification: log in on the web once to set it up, then ask again."
            ),
            code="second_factor_not_enrolled",
            status=403,
        )
    if not otp.strip():
        raise BusinessError(
            _("This account uses two-step verification: send the code of your authenticator app as `otp`."),
            code="second_factor_required",
            field="otp",
        )
    second_factor.verify(staff, otp)


class NodeBriefSerializer(serializers.Serializer):
    id = IdField()
    name = serializers.CharField()
    kind = serializers.CharField()
    merchant = IdField(source="merchant_id")
    merchant_name = serializers.CharField(source="merchant.name")


class MeSerializer(serializers.Serializer):
    id = IdField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    node = NodeBriefSerializer(allow_null=True, help_text="The org node that gives the data scope.")
    roles = RoleBriefSerializer(many=True, source="roles.all")
    permissions = serializers.SerializerMethodField()
    is_superuser = serializers.BooleanField()

    def get_permissions(self, staff) -> list[str]:
        return sorted(c for c in staff.permission_codes if c in PERMISSIONS)


class MeView(APIView):
    """The logged-in staff: node (data scope), roles and permission codes."""

    schema = ProblemAutoSchema()

    @extend_schema(operation_id="me_retrieve", responses=MeSerializer, tags=["auth"])
    def get(self, request):
        return Response(MeSerializer(request.user).data)
