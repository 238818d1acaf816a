"""API of members: list and search, register, change, reveal, consent, merge, transfer; contacts, tags, fields.

Phone and ID numbers are answered masked only (`phone_masked`, `id_number_masked`); `phone` and `id_number`
are write-only. The full value comes from POST /members/{id}/reveal/, which is audited.
"""

from django.db import IntegrityError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from onecard.core.api import (
    BlankOrField,
    CappedCountPagination,
    IdField,
    MaskedField,
    acting_merchant_field,
    create_schema,
    permission_map,
    problem,
    update_schema,
)
from onecard.core.api_base import ApiViewSet, PatchThroughServiceMixin
from onecard.core.errors import ValidationFailed
from onecard.core.masking import mask_id_number, mask_phone
from onecard.core.validators import InvalidValue, normalize_phone
from onecard.org.models import OrgNode, Staff
from onecard.org.queries import acting_merchant

from . import labels, merging, privacy, services
from .choices import FieldType, Gender, MemberKind, Source
from .models import Contact, CustomField, Member, Tag
from .queries import filter_members, find_member, merchant_ids_for, visible_members

# ---- serializers --------------------------------------------------------------------------------------


class TagSerializer(serializers.ModelSerializer):
    id = IdField(read_only=True)

    class Meta:
        model = Tag
        fields = ["id", "name", "color"]
        read_only_fields = ["id"]


class MemberSerializer(serializers.ModelSerializer):
    """A member as the API answers it; personal numbers only masked."""

    id = IdField(read_only=True)
    phone_masked = MaskedField(mask_phone, "phone", help_text="e.g. 138****5678; full value via reveal.")
    id_number_masked = MaskedField(mask_id_number, "id_number", help_text="e.g. 1101**********1234.")
    tags = TagSerializer(many=True, read_only=True)
    home_store = IdField(source="home_store_id", read_only=True)
    home_store_name = serializers.CharField(source="home_store.name", read_only=True)
    owner = IdField(source="owner_id", read_only=True, allow_null=True)
    owner_name = serializers.SerializerMethodField()
    referrer = IdField(source="referrer_id", read_only=True, allow_null=True)
    merged_into = IdField(source="merged_into_id", read_only=True, allow_null=True)
    email = BlankOrField({"format": "email"}, help_text="An e-mail address, or empty.")

    class Meta:
        model = Member
        fields = [
            "id",
            "member_no",
            "kind",
            "name",
            "phone_masked",
            "id_number_masked",
            "gender",
            "birthday",
            "address",
            "email",
            "notes",
            "tags",
            "custom_fields",
            "home_store",
            "home_store_name",
            "owner",
            "owner_name",
            "source",
            "source_detail",
            "referrer",
            "marketing_consent",
            "consent_at",
            "consent_source",
            "status",
            "merged_into",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_owner_name(self, member) -> str | None:
        return str(member.owner) if member.owner_id else None


def _text(max_length=None, **kwargs):
    return serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=max_length, **kwargs
    )


class MemberWriteSerializer(serializers.Serializer):
    """Fields a client may set; the service checks their content (phone format, ID check digit, scope...)."""

    kind = serializers.ChoiceField(choices=MemberKind.choices, required=False)
    name = _text(100)
    phone = _text(40, help_text="Mainland mobile or +E.164; optional for a company.")
    gender = serializers.ChoiceField(choices=Gender.choices, required=False, allow_blank=True)
    birthday = _text(20, help_text="YYYY-MM-DD")
    address = _text(200)
    id_number = _text(18, help_text="18-character resident ID number.")
    email = _text(254)
    notes = _text(5000)
    home_store = IdField(required=False, help_text="Defaults to your own org node.")
    owner = IdField(required=False, allow_null=True, help_text="Staff id of the owner (负责人).")
    referrer = IdField(required=False, allow_null=True, help_text="Member id of the referrer.")
    tags = serializers.ListField(child=IdField(), required=False, help_text="Tag ids; replaces all tags.")
    custom_fields = serializers.DictField(required=False, help_text="{key: value} of the custom fields.")
    source = serializers.ChoiceField(choices=Source.choices, required=False)
    source_detail = _text(100)
    marketing_consent = serializers.BooleanField(required=False)
    consent_source = _text(40, help_text="Where consent was given (recorded with the consent).")


class MemberCreateSerializer(MemberWriteSerializer):
    name = serializers.CharField(max_length=100)
    merchant = acting_merchant_field()


class RevealRequestSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=["phone", "id_number"])
    purpose = serializers.CharField(
        max_length=100, help_text="Why the full number is needed (PIPL); audited."
    )


class RevealSerializer(serializers.Serializer):
    field = serializers.CharField()
    value = serializers.CharField()


class ConsentRequestSerializer(serializers.Serializer):
    granted = serializers.BooleanField()
    source = serializers.CharField(max_length=40, help_text="How consent was given or withdrawn.")


class MergeRequestSerializer(serializers.Serializer):
    survivor = IdField(help_text="The record that stays.")
    merged = IdField(help_text="The record that is combined into the survivor and marked merged.")


class MergeSerializer(serializers.Serializer):
    survivor = MemberSerializer()
    merged = serializers.CharField(help_text="Id of the merged record.")


class TransferRequestSerializer(serializers.Serializer):
    members = serializers.ListField(
        child=IdField(), required=False, max_length=10_000, help_text="Member ids (or use from_owner)."
    )
    from_owner = IdField(required=False, help_text="Hand over every member of this staff (离职继承).")
    to_owner = IdField(allow_null=True, help_text="Staff id of the new owner; null leaves them unowned.")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if ("members" in attrs) == ("from_owner" in attrs):
            raise serializers.ValidationError(
                {"members": [_("Give either members or from_owner, not both.")]}
            )
        return attrs


class TransferSerializer(serializers.Serializer):
    moved = serializers.IntegerField(help_text="How many members changed owner.")


class ContactSerializer(serializers.ModelSerializer):
    id = IdField(read_only=True)
    member = IdField(source="member_id", read_only=True)
    phone_masked = MaskedField(mask_phone, "phone")
    email = BlankOrField({"format": "email"}, help_text="An e-mail address, or empty.")

    class Meta:
        model = Contact
        fields = ["id", "member", "name", "title", "phone_masked", "email", "is_primary", "notes"]
        read_only_fields = fields


class ContactWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60, required=False)
    title = _text(60)
    phone = _text(40)
    email = _text(254)
    is_primary = serializers.BooleanField(required=False)
    notes = _text(200)


class ContactCreateSerializer(ContactWriteSerializer):
    name = serializers.CharField(max_length=60)


class TagCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=30)
    color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False, default="#3b82f6")
    merchant = acting_merchant_field()


class CustomFieldSerializer(serializers.ModelSerializer):
    id = IdField(read_only=True)

    class Meta:
        model = CustomField
        fields = ["id", "key", "label", "field_type", "choices", "required", "position"]
        read_only_fields = fields


class CustomFieldCreateSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=40)
    label = serializers.CharField(max_length=40)
    field_type = serializers.ChoiceField(choices=FieldType.choices, default=FieldType.TEXT)
    choices = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    required = serializers.BooleanField(required=False, default=False)
    position = serializers.IntegerField(required=False, default=0, min_value=0, max_value=32767)
    merchant = acting_merchant_field()


# ---- helpers ------------------------------------------------------------------------------------------


def member_or_404(user, pk):
    """The member `pk` if `user` may see it, else 404 (the member's sub-resources use it too)."""
    member = find_member(user, pk)
    if member is None:
        raise Http404
    return member


def _member_answer(user, pk):
    """The member `pk` read again after a write (merged records too), as the API answers it."""
    member = (
        visible_members(user, include_merged=True)
        .select_related("home_store", "owner")
        .prefetch_related("tags")
        .get(pk=pk)
    )
    return MemberSerializer(member).data


def _guard_phone_race(merchant, phone, call):
    """Run a service call; a duplicate phone that slipped past its check (a race) still answers duplicate_phone."""
    try:
        return call()
    except IntegrityError:
        existing = None
        try:
            existing = services.phone_conflict(merchant, normalize_phone(phone)) if phone else None
        except InvalidValue:
            existing = None
        if existing is not None:
            raise services.duplicate_phone_error(existing) from None
        raise


def _staff_of_merchants(user, pk, field):
    if pk is None:
        return None
    staff = (
        Staff.objects.filter(pk=pk, node__merchant_id__in=merchant_ids_for(user))
        .select_related("node")
        .first()
    )
    if staff is None:
        raise ValidationFailed({field: [_("Unknown staff.")]})
    return staff


MEMBER_FILTERS = [
    OpenApiParameter(
        "q",
        OpenApiTypes.STR,
        description="Search: 11 digits = phone, 4 digits = last four of the phone, other digits = member "
        "no., latin letters = pinyin initials or pinyin prefix, anything else = name prefix.",
    ),
    OpenApiParameter("store", OpenApiTypes.STR, description="Org node id: members of it and below."),
    OpenApiParameter("tag", OpenApiTypes.STR, description="Tag id."),
    OpenApiParameter("owner", OpenApiTypes.STR, description="Staff id, or `none` for members with no owner."),
    OpenApiParameter("source", OpenApiTypes.STR, enum=Source.values),
    OpenApiParameter("consent", OpenApiTypes.STR, enum=["yes", "no"]),
    OpenApiParameter("kind", OpenApiTypes.STR, enum=MemberKind.values),
]


# ---- members ------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Members in your scope, searched and filtered like the member list page",
        parameters=MEMBER_FILTERS,
    ),
    retrieve=extend_schema(summary="One member (merged records too, with merged_into)"),
    create=extend_schema(
        summary="Register a member",
        request=MemberCreateSerializer,
        responses={
            201: MemberSerializer,
            409: problem("duplicate_phone: the phone belongs to `existing_member`"),
        },
    ),
    partial_update=extend_schema(
        summary="Change some fields of a member",
        request=MemberWriteSerializer,
        responses={
            200: MemberSerializer,
            409: problem("duplicate_phone: the phone belongs to `existing_member`"),
        },
    ),
    reveal=update_schema(
        "The full phone or ID number (permission members.reveal_pii; audited)",
        RevealRequestSerializer,
        RevealSerializer,
    ),
    consent=update_schema(
        "Grant or withdraw marketing consent (recorded with time and source)",
        ConsentRequestSerializer,
        MemberSerializer,
    ),
    merge=update_schema("Merge two records of one person", MergeRequestSerializer, MergeSerializer),
    transfer=update_schema(
        "Hand members to another owner: listed members, or every member of `from_owner`",
        TransferRequestSerializer,
        TransferSerializer,
    ),
)
class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = MemberSerializer
    pagination_class = CappedCountPagination
    http_method_names = ["get", "post", "patch", "head", "options"]
    required_permissions = {
        "list": "members.view",
        "retrieve": "members.view",
        "create": "members.add",
        "partial_update": "members.change",
        "reveal": "members.reveal_pii",
        "consent": "members.change",
        "merge": "members.merge",
        "transfer": "members.transfer",
    }

    def get_queryset(self):
        return (
            filter_members(self.request.user, self.request.query_params)
            .select_related("home_store", "owner")
            .prefetch_related("tags")
        )

    def get_object(self):
        return member_or_404(self.request.user, self.kwargs["pk"])

    def paginate_queryset(self, queryset):
        self.shown = super().paginate_queryset(queryset)
        return self.shown

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        privacy.record_list(request.user, self.shown or [], channel="api")
        return response

    def retrieve(self, request, *args, **kwargs):
        member = self.get_object()
        privacy.record_detail(request.user, member, channel="api")
        return Response(self.get_serializer(member).data)

    def create(self, request, *args, **kwargs):
        values = self.validated(MemberCreateSerializer)
        merchant_id = values.pop("merchant", None)
        consent_source = values.pop("consent_source", None) or ""
        if not request.user.node_id and merchant_id is None and "home_store" in values:
            merchant_id = OrgNode.objects.filter(pk=values["home_store"]).values_list(
                "merchant_id", flat=True
            )
            merchant_id = merchant_id.first()
        merchant = acting_merchant(request.user, merchant_id)
        member = _guard_phone_race(
            merchant,
            values.get("phone"),
            lambda: services.create_member(request.user, merchant, values, consent_source=consent_source),
        )
        return Response(_member_answer(request.user, member.pk), status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        member = self.get_object()
        values = self.validated(MemberWriteSerializer)
        _guard_phone_race(
            member.merchant, values.get("phone"), lambda: services.update_member(request.user, member, values)
        )
        return Response(_member_answer(request.user, member.pk))

    @action(detail=True, methods=["post"])
    def reveal(self, request, pk=None):
        member = self.get_object()
        values = self.validated(RevealRequestSerializer)
        field = values["field"]
        value = services.reveal(request.user, member, field, purpose=values["purpose"])
        response = Response({"field": field, "value": value})
        response["Cache-Control"] = "no-store"
        return response

    @action(detail=True, methods=["post"])
    def consent(self, request, pk=None):
        member = self.get_object()
        values = self.validated(ConsentRequestSerializer)
        services.set_consent(request.user, member, values["granted"], source=values["source"])
        return Response(_member_answer(request.user, member.pk))

    @action(detail=False, methods=["post"])
    def merge(self, request):
        values = self.validated(MergeRequestSerializer)
        survivor = member_or_404(request.user, values["survivor"])
        merged = member_or_404(request.user, values["merged"])
        merging.merge_members(request.user, survivor, merged)
        return Response(
            {
                "survivor": _member_answer(request.user, survivor.pk),
                "merged": str(merged.pk),
            }
        )

    @action(detail=False, methods=["post"])
    def transfer(self, request):
        values = self.validated(TransferRequestSerializer)
        to_owner = _staff_of_merchants(request.user, values["to_owner"], "to_owner")
        if "from_owner" in values:
            from_owner = _staff_of_merchants(request.user, values["from_owner"], "from_owner")
            moved = services.transfer_all_from(request.user, from_owner, to_owner, reason=values["reason"])
        else:
            ids = list(dict.fromkeys(values["members"]))
            members = list(
                visible_members(request.user)
                .filter(pk__in=ids)
                .select_related("home_store", "owner", "merchant")
            )
            missing = sorted(set(ids) - {m.pk for m in members})
            if missing:
                raise ValidationFailed(
                    {
                        "members": [
                            _("These members were not found: %(ids)s")
                            % {"ids": ", ".join(str(i) for i in missing[:20])}
                        ]
                    }
                )
            moved = services.transfer_members(request.user, members, to_owner, reason=values["reason"])
        return Response({"moved": moved})


# ---- contacts -----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Contact persons of a member"),
    retrieve=extend_schema(summary="One contact person"),
    create=create_schema("Add a contact person", ContactCreateSerializer, ContactSerializer),
    partial_update=update_schema("Change a contact person", ContactWriteSerializer, ContactSerializer),
    destroy=extend_schema(summary="Remove a contact person"),
)
class ContactViewSet(
    PatchThroughServiceMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    serializer_class = ContactSerializer
    patch_serializer = ContactWriteSerializer
    pagination_class = None
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    required_permissions = permission_map("members.view", "members.change")

    def get_member(self):
        if not hasattr(self, "_member"):
            self._member = member_or_404(self.request.user, self.kwargs["member_pk"])
        return self._member

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Contact.objects.none()
        return self.get_member().contacts.all()

    def create(self, request, *args, **kwargs):
        values = self.validated(ContactCreateSerializer)
        contact = services.add_contact(request.user, self.get_member(), values)
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)

    def update_record(self, contact, values):
        return services.update_contact(self.request.user, contact, values)

    def perform_destroy(self, instance):
        services.delete_contact(self.request.user, instance)


# ---- tags and custom fields ---------------------------------------------------------------------------


class _LabelViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, ApiViewSet):
    # Tags and custom fields alike: each merchant defines its own (members.manage_fields), members.view reads
    # them. A comment, not a docstring, since drf-spectacular would publish a docstring as every
    # operation's description.
    required_permissions = permission_map("members.view", "members.manage_fields")
    model = None
    ordering = ()
    create_serializer = None

    def get_queryset(self):
        return self.model.objects.filter(merchant_id__in=merchant_ids_for(self.request.user)).order_by(
            *self.ordering
        )

    def create(self, request, *args, **kwargs):
        values = self.validated(self.create_serializer)
        merchant = acting_merchant(request.user, values.pop("merchant", None))
        label = self.define(merchant, values)
        return Response(self.serializer_class(label).data, status=status.HTTP_201_CREATED)

    def define(self, merchant, values):
        """Call the service that defines the label for `merchant`."""
        raise NotImplementedError


@extend_schema_view(
    list=extend_schema(summary="Your merchant's tags"),
    create=create_schema("Create a tag", TagCreateSerializer, TagSerializer),
    destroy=extend_schema(summary="Delete a tag (it is taken off every member)"),
)
class TagViewSet(_LabelViewSet):
    serializer_class = TagSerializer
    create_serializer = TagCreateSerializer
    model = Tag
    ordering = ("name", "id")

    def define(self, merchant, values):
        return labels.create_tag(self.request.user, merchant, values["name"], values["color"])

    def perform_destroy(self, instance):
        labels.delete_tag(self.request.user, instance)


@extend_schema_view(
    list=extend_schema(summary="Your merchant's custom member fields"),
    create=create_schema("Define a custom member field", CustomFieldCreateSerializer, CustomFieldSerializer),
    destroy=extend_schema(summary="Delete a custom field definition"),
)
class CustomFieldViewSet(_LabelViewSet):
    serializer_class = CustomFieldSerializer
    create_serializer = CustomFieldCreateSerializer
    model = CustomField
    ordering = ("position", "id")

    def define(self, merchant, values):
        return labels.define_custom_field(self.request.user, merchant, **values)

    def perform_destroy(self, instance):
        labels.delete_custom_field(self.request.user, instance)
