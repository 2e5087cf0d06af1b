import re

from rest_framework import serializers

from .models import Address
from .services import PINCODE_RE

PHONE_CHARS_RE = re.compile(r"\+?[0-9 ().\-]+")
POSTAL_CODE_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 \-]{1,10})[A-Za-z0-9]")
COUNTRY_RE = re.compile(r"[A-Za-z]{2}")


class AddressOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Address
        fields = [
            "id",
            "full_name",
            "phone",
            "line1",
            "line2",
            "city",
            "state",
            "postal_code",
            "country",
            "address_type",
            "is_default",
            "created_at",
        ]
        read_only_fields = fields


class AddressInputSerializer(serializers.Serializer):
    """Create (all required fields) and PUT; PATCH uses it with `partial=True`."""

    full_name = serializers.CharField(max_length=120)
    phone = serializers.CharField(max_length=32)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100)
    state = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20)
    country = serializers.CharField(max_length=2, min_length=2, required=False)
    address_type = serializers.ChoiceField(choices=Address.AddressType.choices, required=False)
    is_default = serializers.BooleanField(required=False)

    def validate_phone(self, value: str) -> str:
        digits = sum(ch.isdigit() for ch in value)
        if not PHONE_CHARS_RE.fullmatch(value) or not 7 <= digits <= 15:
            raise serializers.ValidationError(
                "Enter a phone number of 7 to 15 digits (an optional leading +, spaces, dashes, dots "
                "and brackets allowed)."
            )
        return value

    def validate_postal_code(self, value: str) -> str:
        value = " ".join(value.split()).upper()
        if not POSTAL_CODE_RE.fullmatch(value):
            raise serializers.ValidationError(
                "Enter a postal code of 3 to 12 letters or digits (inner spaces and dashes allowed)."
            )
        return value

    def validate_country(self, value: str) -> str:
        if not COUNTRY_RE.fullmatch(value):
            raise serializers.ValidationError("Enter a two-letter ISO 3166 country code, e.g. US.")
        return value.upper()


class PincodeQuerySerializer(serializers.Serializer):
    pincode = serializers.RegexField(
        PINCODE_RE,
        max_length=10,
        error_messages={"invalid": "Enter a pincode of 3 to 10 letters or digits."},
    )


class PincodeResultSerializer(serializers.Serializer):
    city = serializers.CharField()
    state = serializers.CharField(allow_blank=True)
