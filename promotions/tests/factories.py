from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from promotions.models import Promotion


class PromotionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Promotion

    code = factory.Sequence(lambda n: f"SAVE{n}")
    kind = "percentage"
    value = Decimal("10.00")
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    is_active = True
