from decimal import Decimal

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from core.ids import id_field
from products.models import Category

from .models import Promotion, PromotionKind


@extend_schema_serializer(component_name="Promotion")
class PromotionOutputSerializer(serializers.ModelSerializer):
    category_ids = serializers.SerializerMethodField()

    class Meta:
        model = Promotion
        fields = [
            "id",
            "code",
            "description",
            "kind",
            "value",
            "min_subtotal",
            "starts_at",
            "ends_at",
            "usage_limit",
            "usage_limit_per_user",
            "category_ids",
            "is_active",
            "times_used",
            "created_at",
        ]
        read_only_fields = fields

    def get_category_ids(self, obj: Promotion) -> list[int]:
        return sorted(category.pk for category in obj.categories.all())


class PromotionInputSerializer(serializers.Serializer):
    code = serializers.RegexField(r"^[A-Za-z0-9_-]{1,40}$", max_length=40)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=PromotionKind.choices)
    value = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    min_subtotal = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0.00"), required=False, allow_null=True
    )
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    usage_limit = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False, allow_null=True)
    usage_limit_per_user = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, required=False, allow_null=True
    )
    category_ids = serializers.ListField(child=id_field(), required=False, max_length=500)
    is_active = serializers.BooleanField(required=False)

    def validate(self, attrs: dict) -> dict:
        instance: Promotion | None = self.context.get("instance")
        kind = attrs.get("kind", instance.kind if instance else None)
        value = attrs.get("value", instance.value if instance else None)
        if kind == PromotionKind.PERCENTAGE and value is not None and value > 100:
            raise serializers.ValidationError({"value": ["A percentage is at most 100."]})
        starts_at = attrs.get("starts_at", instance.starts_at if instance else None)
        ends_at = attrs.get("ends_at", instance.ends_at if instance else None)
        if starts_at and ends_at and ends_at <= starts_at:
            raise serializers.ValidationError({"ends_at": ["Must be after starts_at."]})
        if "category_ids" in attrs:
            wanted = set(attrs.pop("category_ids"))
            found = list(Category.objects.filter(pk__in=wanted))
            if len(found) != len(wanted):
                missing = sorted(wanted - {c.pk for c in found})
                raise serializers.ValidationError({"category_ids": [f"Unknown categories: {missing}."]})
            attrs["categories"] = found
        return attrs
