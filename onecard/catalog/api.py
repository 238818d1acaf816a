"""API of the catalogue: products (list with search, retrieve, create, update) and categories.

Amounts are integer fen. The catalogue is merchant-wide: a client sees its own merchant's rows only (another
merchant's id is a 404); writes need catalog.manage at head office and go through `services`.
"""

from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from onecard.core.api import (
    IdField,
    acting_merchant_field,
    column_integer,
    create_schema,
    permission_map,
    put_and_patch_schemas,
)
from onecard.core.api_base import ApiViewSet
from onecard.core.errors import ValidationFailed
from onecard.core.ids import parse_id
from onecard.loyalty.models import Tier
from onecard.org.models import OrgNode
from onecard.org.queries import acting_merchant

from . import errors, services
from .choices import ProductKind
from .models import Category, MemberPrice, Product
from .queries import category_subtree, search_filter, visible_categories, visible_products

# ---- serializers --------------------------------------------------------------------------------------------


class CategorySerializer(serializers.ModelSerializer):
    id = IdField(read_only=True)
    parent = IdField(source="parent_id", read_only=True, allow_null=True)

    class Meta:
        model = Category
        fields = ["id", "name", "code", "parent", "path", "depth", "sort_order", "is_active"]
        read_only_fields = fields


class CategoryWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60, required=False)
    code = serializers.CharField(max_length=30, required=False, allow_blank=True)
    parent = IdField(required=False, allow_null=True, help_text="Parent category id; null: a top category.")
    sort_order = column_integer(Category, "sort_order", required=False)
    is_active = serializers.BooleanField(
        required=False, help_text="false deactivates (refused while in use)."
    )
    merchant = acting_merchant_field()


class CategoryCreateSerializer(CategoryWriteSerializer):
    name = serializers.CharField(max_length=60)


class MemberPriceSerializer(serializers.Serializer):
    tier = IdField()
    price = column_integer(MemberPrice, "price", help_text="Fen per unit, > 0.")


class ProductSerializer(serializers.ModelSerializer):
    """A product as the API answers it; prices in fen."""

    id = IdField(read_only=True)
    category = IdField(source="category_id", read_only=True, allow_null=True)
    # An enum used by this component only: drf-spectacular names it ProductKindEnum without a settings entry.
    kind = serializers.ChoiceField(choices=ProductKind.choices, read_only=True)
    stores = serializers.SerializerMethodField(help_text="Store ids; empty: sold in every store.")
    member_prices = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = [
            "id",
            *services.PRODUCT_DESCRIPTION_FIELDS,
            "member_prices",
            "is_active",
            "stores",
            "package_service",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_stores(self, product) -> list[str]:
        return [str(s.pk) for s in product.stores.all()]

    @extend_schema_field(MemberPriceSerializer(many=True))
    def get_member_prices(self, product):
        return [{"tier": str(mp.tier_id), "price": mp.price} for mp in product.member_prices.all()]


class ProductWriteSerializer(serializers.Serializer):
    """Fields a client may set; the service checks their content (SKU format, duplicates, prices, tiers...)."""

    sku = serializers.CharField(max_length=60, required=False)
    barcode = serializers.CharField(max_length=60, required=False, allow_blank=True)
    name = serializers.CharField(max_length=200, required=False)
    category = IdField(required=False, allow_null=True)
    kind = serializers.ChoiceField(
        choices=ProductKind.choices, required=False, help_text="product (default) or service"
    )
    unit = serializers.CharField(max_length=20, required=False, allow_blank=True)
    list_price = column_integer(Product, "list_price", required=False, help_text="Fen per unit, > 0.")
    is_active = serializers.BooleanField(required=False)
    stores = serializers.ListField(child=IdField(), required=False, help_text="Store ids; replaces all.")
    package_service = serializers.CharField(max_length=60, required=False, allow_blank=True)
    member_prices = MemberPriceSerializer(
        many=True, required=False, help_text="Replaces every member price of the product."
    )
    merchant = acting_merchant_field()


class ProductCreateSerializer(ProductWriteSerializer):
    sku = serializers.CharField(max_length=60)
    name = serializers.CharField(max_length=200)
    list_price = column_integer(Product, "list_price", help_text="Fen per unit, > 0.")


# ---- resolving ids ------------------------------------------------------------------------------------------


def _category(merchant, category_id, field="category"):
    if category_id is None:
        return None
    category = Category.objects.filter(merchant=merchant, pk=category_id).first()
    if category is None:
        raise errors.UnknownCategory(field)
    return category


def _stores(merchant, ids):
    stores = list(OrgNode.objects.filter(merchant=merchant, pk__in=ids))
    if len(stores) != len(set(ids)):
        raise errors.ForeignStore("stores")
    return stores


def _prices(rows):
    prices = {}
    for row in rows:
        tier = Tier.objects.filter(pk=row["tier"]).first()
        if tier is None:
            raise ValidationFailed({"member_prices": [_("No such tier.")]})
        prices[tier] = row["price"]
    return prices


def _product_values(merchant, data):
    values = dict(data)
    values.pop("merchant", None)
    if "category" in values:
        values["category"] = _category(merchant, values["category"])
    if "stores" in values:
        values["stores"] = _stores(merchant, values["stores"])
    prices = _prices(values.pop("member_prices")) if "member_prices" in values else None
    return values, prices


# ---- viewsets -----------------------------------------------------------------------------------------------

SEARCH = OpenApiParameter(
    "search", OpenApiTypes.STR, description="SKU or barcode (exact), SKU or name prefix, pinyin initials."
)
CATEGORY = OpenApiParameter(
    "category", OpenApiTypes.STR, description="Category id: it and every category below."
)
ACTIVE = OpenApiParameter("active", OpenApiTypes.BOOL, description="Only active (true) or inactive (false).")


class _CatalogViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ApiViewSet,
):
    # Products and categories alike: catalog.view reads, catalog.manage writes. A comment, not a
    # docstring, since drf-spectacular would publish a docstring as every operation's description.
    required_permissions = permission_map("catalog.view", "catalog.manage")


@extend_schema_view(
    list=extend_schema(summary="Your merchant's products", parameters=[SEARCH, CATEGORY, ACTIVE]),
    retrieve=extend_schema(summary="One product"),
    create=create_schema("Add a product or service", ProductCreateSerializer, ProductSerializer),
    **put_and_patch_schemas("a product", ProductWriteSerializer, ProductSerializer),
)
class ProductViewSet(_CatalogViewSet):
    serializer_class = ProductSerializer

    def get_queryset(self):
        qs = (
            visible_products(self.request.user)
            .prefetch_related("stores", "member_prices")
            .order_by("sku", "id")
        )
        if self.action != "list":
            return qs
        params = self.request.query_params
        qs = qs.filter(search_filter(params.get("search")))
        if params.get("category"):
            category_id = parse_id(params["category"])
            category = (
                visible_categories(self.request.user).filter(pk=category_id).first() if category_id else None
            )
            qs = qs.filter(category__in=category_subtree(category)) if category else qs.none()
        if params.get("active") in ("true", "false"):
            qs = qs.filter(is_active=params["active"] == "true")
        return qs

    def create(self, request, *args, **kwargs):
        body = self.validated(ProductCreateSerializer)
        merchant = acting_merchant(request.user, body.get("merchant"))
        values, prices = _product_values(merchant, body)
        product = services.create_product(request.user, merchant, member_prices=prices, **values)
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        product = self.get_object()
        body = self.validated(ProductWriteSerializer)
        values, prices = _product_values(product.merchant, body)
        with transaction.atomic():
            if prices is not None:
                services.set_member_prices(request.user, product, prices)
            product = services.update_product(request.user, product, **values)
        product = self.get_queryset().get(pk=product.pk)
        return Response(ProductSerializer(product).data)


@extend_schema_view(
    list=extend_schema(summary="Your merchant's categories, as a tree in path order"),
    retrieve=extend_schema(summary="One category"),
    create=create_schema("Add a category", CategoryCreateSerializer, CategorySerializer),
    **put_and_patch_schemas("a category", CategoryWriteSerializer, CategorySerializer),
)
class CategoryViewSet(_CatalogViewSet):
    serializer_class = CategorySerializer

    def get_queryset(self):
        return visible_categories(self.request.user).order_by("merchant_id", "path")

    def create(self, request, *args, **kwargs):
        values = self.validated(CategoryCreateSerializer)
        merchant = acting_merchant(request.user, values.pop("merchant", None))
        values.pop("is_active", None)
        parent = _category(merchant, values.pop("parent", None), "parent")
        category = services.create_category(request.user, merchant, parent=parent, **values)
        return Response(CategorySerializer(category).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        category = self.get_object()
        values = self.validated(CategoryWriteSerializer)
        values.pop("merchant", None)
        active = values.pop("is_active", None)
        if "parent" in values:
            values["parent"] = _category(category.merchant, values["parent"], "parent")
        with transaction.atomic():
            if values:
                category = services.update_category(request.user, category, **values)
            if active is False:
                category = services.deactivate_category(request.user, category)
        return Response(CategorySerializer(category).data)
