"""Demo data for local runs: `python manage.py seed_demo [--products N]`.

Idempotent, so `make run` calls it every time:
- the sample catalogue (fixtures/sample_products.json) is added where missing, matched by
  category slug and product SKU; rows that exist are never changed (staff edits survive);
- two demo accounts are created if absent (never modified when present), and only when DEBUG
  is on unless --with-accounts is given: their passwords are public;
- `--products N` makes sure N generated products (SKU `GEN-0000001`...) exist, creating only the
  missing ones with bulk inserts, so running it again is a no-op and a larger N extends.

Variants: clothing (generated T-shirts, hoodies, jackets, shorts, and two sample products) sells in
sizes S/M/L/XL, a third of it also in two colours, each variant with its own SKU
(`GEN-0000042-M`, `GEN-0000042-NAV-M`) and stock, some sizes sold out; the product's stored price
and stock are its variants' totals. Every other product gets its default variant.
"""

from __future__ import annotations

import json
import random
import time
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from core.catalog_cache import catalog_changed
from products.models import Category, Product, ProductVariant, option_key
from products.services import default_variants_create_missing, product_totals_refresh
from users.models import lower_equals

FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "sample_products.json"
GENERATED_SKU_PREFIX = "GEN-"
BATCH_SIZE = 2000

DEMO_ACCOUNTS = (
    # (email, password, username, staff+superuser)
    ("admin@novacart.local", "novacart-admin", "admin", True),
    ("demo@novacart.local", "novacart-demo", "demo", False),
)

BRAND_STEMS = ("Nova", "Terra", "Apex", "Lumen", "Vertex", "Orbit", "Kestrel", "Cobalt", "Juniper", "Ember")
BRAND_ENDINGS = ("Labs", "Works", "Gear", "& Co", "Supply")
ADJECTIVES = (
    "Compact",
    "Classic",
    "Ultralight",
    "Pro",
    "Everyday",
    "Premium",
    "Smart",
    "Rugged",
    "Essential",
    "Deluxe",
    "Portable",
    "Wireless",
)
NOUNS = (
    "Headphones",
    "Speaker",
    "Keyboard",
    "Mouse",
    "Monitor",
    "Kettle",
    "Grinder",
    "Skillet",
    "Backpack",
    "Tent",
    "Jacket",
    "Water Bottle",
    "Lamp",
    "Charger",
    "Yoga Mat",
    "Knife",
    "Teapot",
    "Headlamp",
    "T-Shirt",
    "Hoodie",
    "Running Shorts",
)
COLOURS = ("Black", "White", "Graphite", "Sand", "Forest", "Navy", "Red", "Silver")
# Generated products of these kinds sell in sizes (a realistic share: about one in five).
CLOTHING = frozenset({"Jacket", "T-Shirt", "Hoodie", "Running Shorts"})
SIZES = ("S", "M", "L", "XL")
SOLD_OUT_SHARE = 0.2
# Sample-catalogue products that sell in sizes: SKU -> (size, stock) per variant.
SAMPLE_VARIANTS = {
    "KNT-RV-001": (("S", 6), ("M", 9), ("L", 8), ("XL", 0)),
    "SMG-RJ-001": (("S", 0), ("M", 5), ("L", 6), ("XL", 2)),
}

VariantSpec = tuple[dict[str, str], Decimal, int]  # options, price, stock


class Command(BaseCommand):
    help = "Load the sample catalogue and demo accounts if absent; --products N adds generated products."

    def add_arguments(self, parser):
        parser.add_argument(
            "--products",
            type=int,
            default=0,
            metavar="N",
            help="Ensure N generated products exist (bulk insert of the missing ones).",
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed for generated products.")
        parser.add_argument(
            "--with-accounts",
            action="store_true",
            help="Create the demo accounts even when DEBUG is off (they have public passwords).",
        )
        parser.add_argument("--no-accounts", action="store_true", help="Do not create the demo accounts.")

    def handle(self, *args, **options):
        if options["products"] < 0:
            raise CommandError("--products must be zero or positive.")
        self._load_catalogue()
        if options["no_accounts"]:
            pass
        elif settings.DEBUG or options["with_accounts"]:
            self._create_accounts()
        else:
            self.stdout.write("DEBUG is off: demo accounts not created (pass --with-accounts to force).")
        if options["products"]:
            self._generate(target=options["products"], seed=options["seed"])
        added = default_variants_create_missing()
        if added:
            self.stdout.write(f"Default variants: {added} added.")

    # --- Sample catalogue --------------------------------------------------------------------

    @transaction.atomic
    def _load_catalogue(self) -> None:
        catalog_changed()  # bulk inserts skip the services: invalidate the catalog cache on commit
        records = json.loads(FIXTURE.read_text(encoding="utf-8"))
        category_records = [r for r in records if r["model"] == "products.category"]
        product_records = [r for r in records if r["model"] == "products.product"]

        # Categories: parents before children, matched by slug; fixture pk -> real category.
        by_fixture_pk: dict[int, Category] = {}
        existing = {
            c.slug: c
            for c in Category.objects.filter(slug__in=[r["fields"]["slug"] for r in category_records])
        }
        created_categories = 0
        pending = list(category_records)
        while pending:
            progressed = False
            for record in list(pending):
                fields = record["fields"]
                parent_pk = fields["parent"]
                if parent_pk is not None and parent_pk not in by_fixture_pk:
                    continue
                category = existing.get(fields["slug"])
                if category is None:
                    category = Category.objects.create(
                        name=fields["name"],
                        slug=fields["slug"],
                        parent=by_fixture_pk.get(parent_pk) if parent_pk is not None else None,
                        is_active=fields.get("is_active", True),
                    )
                    created_categories += 1
                by_fixture_pk[record["pk"]] = category
                pending.remove(record)
                progressed = True
            if not progressed:
                raise CommandError(f"{FIXTURE.name}: category parents form a cycle or are missing.")

        skus = [r["fields"]["sku"] for r in product_records]
        slugs = [r["fields"]["slug"] for r in product_records]
        existing_skus = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
        taken_slugs = set(Product.objects.filter(slug__in=slugs).values_list("slug", flat=True))
        new_products = []
        created_at = {}
        for record in product_records:
            fields = record["fields"]
            if fields["sku"] in existing_skus:
                continue
            slug = fields["slug"]
            if slug in taken_slugs:  # someone else's product took it: keep ours distinct
                slug = f"{slug}-{fields['sku'].lower()}"[:220]
            new_products.append(
                Product(
                    name=fields["name"],
                    slug=slug,
                    brand=fields["brand"],
                    sku=fields["sku"],
                    description=fields["description"],
                    price=Decimal(fields["price"]),
                    stock=fields["stock"],
                    category=by_fixture_pk.get(fields["category"]) if fields["category"] else None,
                    is_active=fields.get("is_active", True),
                )
            )
            created_at[fields["sku"]] = parse_datetime(fields["created_at"])
        Product.objects.bulk_create(new_products)
        self._add_sample_variants([product.sku for product in new_products])
        # auto_now_add stamps "now" on insert; give the sample catalogue its staggered history so
        # "newest first" looks like a real shop.
        for product in Product.objects.filter(sku__in=list(created_at)).only("pk", "sku"):
            Product.objects.filter(pk=product.pk).update(
                created_at=created_at[product.sku], updated_at=created_at[product.sku]
            )
        if created_categories or new_products:
            self.stdout.write(
                f"Sample catalogue: {created_categories} categories and {len(new_products)} products added."
            )
        else:
            self.stdout.write("Sample catalogue already present.")

    @staticmethod
    def _add_sample_variants(new_skus: list[str]) -> None:
        """The sized sample products just created get their size variants (and totals)."""
        wanted = {sku: sizes for sku, sizes in SAMPLE_VARIANTS.items() if sku in new_skus}
        products = Product.objects.filter(sku__in=list(wanted)).values_list("sku", "id", "price")
        variants = [
            _variant(product_id, f"{sku}-{size}", {"Size": size}, price, stock)
            for sku, product_id, price in products
            for size, stock in wanted[sku]
        ]
        ProductVariant.objects.bulk_create(variants, ignore_conflicts=True)
        product_totals_refresh(product_ids=[product_id for _sku, product_id, _price in products])

    # --- Demo accounts -----------------------------------------------------------------------

    def _create_accounts(self) -> None:
        user_model = get_user_model()
        for email, password, username, is_admin in DEMO_ACCOUNTS:
            role = "staff superuser" if is_admin else "customer"
            existing = user_model.objects.filter(lower_equals("email", email)).first()
            if existing is not None:
                # Never modified (no hash upgrade either); printed with the demo password only while
                # that still signs in.
                if not check_password(password, existing.password):
                    self.stdout.write(
                        f"Demo {role} (exists): {email} / its password was changed, not {password!r}; "
                        "`manage.py changepassword` sets one"
                    )
                    continue
                state = "exists"
            else:
                if user_model.objects.filter(lower_equals("username", username)).exists():
                    username = email
                if is_admin:
                    user_model.objects.create_superuser(username=username, email=email, password=password)
                else:
                    user_model.objects.create_user(username=username, email=email, password=password)
                state = "created"
            self.stdout.write(f"Demo {role} ({state}): {email} / {password}   [local demo only]")

    # --- Generated products ------------------------------------------------------------------

    @transaction.atomic  # one commit, and the deferred FK checks run once at the end
    def _generate(self, *, target: int, seed: int) -> None:
        catalog_changed()  # bulk inserts skip the services: invalidate the catalog cache on commit
        started = time.perf_counter()
        generated = Product.objects.filter(sku__startswith=GENERATED_SKU_PREFIX)
        existing = set(generated.values_list("sku", flat=True))
        before = len(existing)
        if before >= target:
            self.stdout.write(f"Generated products: {before} present (>= {target}), nothing to add.")
            return
        category_ids = list(Category.objects.order_by("id").values_list("id", flat=True))
        if not category_ids:
            raise CommandError("No categories to put generated products in.")
        brands = [f"{stem} {ending}" for stem in BRAND_STEMS for ending in BRAND_ENDINGS]
        # Seeded by what already exists, so an extension is as reproducible as the first run.
        rng = random.Random(f"{seed}:{before}")

        index = 0
        rounds = 0
        while True:
            missing = target - generated.count()
            if missing <= 0 or rounds >= 3:
                break
            rounds += 1
            batch: list[Product] = []
            sized: dict[str, list[VariantSpec]] = {}
            added = 0
            while added < missing:
                index += 1
                sku = f"{GENERATED_SKU_PREFIX}{index:07d}"
                if sku in existing:
                    continue
                existing.add(sku)
                product, variants = self._generated_product(rng, index, sku, brands, category_ids)
                batch.append(product)
                if variants:
                    sized[sku] = variants
                added += 1
                if len(batch) >= BATCH_SIZE:
                    self._insert(batch, sized)
                    batch, sized = [], {}
            if batch:
                self._insert(batch, sized)

        total = generated.count()
        self.stdout.write(
            f"Generated products: {total - before} added, {total} present "
            f"({time.perf_counter() - started:.1f}s)."
        )

    @staticmethod
    def _insert(batch: list[Product], sized: dict[str, list[VariantSpec]]) -> None:
        """One bulk INSERT for the products, one SELECT of the sized ones' ids, one bulk INSERT of
        their variants (products that were not inserted, lost to a conflict, are skipped)."""
        Product.objects.bulk_create(batch, batch_size=BATCH_SIZE, ignore_conflicts=True)
        if not sized:
            return
        ids = dict(
            Product.objects.filter(sku__in=list(sized), variants__isnull=True).values_list("sku", "id")
        )
        variants = [
            _variant(ids[sku], _variant_sku(sku, options), options, price, stock)
            for sku, specs in sized.items()
            if sku in ids
            for options, price, stock in specs
        ]
        ProductVariant.objects.bulk_create(variants, batch_size=BATCH_SIZE, ignore_conflicts=True)

    @staticmethod
    def _generated_product(
        rng: random.Random, index: int, sku: str, brands: list[str], category_ids: list[int]
    ) -> tuple[Product, list[VariantSpec]]:
        brand = brands[rng.randrange(len(brands))]
        noun = NOUNS[rng.randrange(len(NOUNS))]
        adjective = ADJECTIVES[rng.randrange(len(ADJECTIVES))]
        colour = COLOURS[rng.randrange(len(COLOURS))]
        name = f"{brand} {adjective} {noun} {colour}"
        # Log-uniform prices between 3 and 2000: many cheap products, a few expensive ones.
        price = Decimal(f"{3 * (2000 / 3) ** rng.random():.2f}")
        stock = 0 if rng.random() < 0.08 else rng.randint(1, 500)
        variants: list[VariantSpec] = []
        if noun in CLOTHING:
            price = min(price, Decimal("250.00"))  # clothing is not priced like a monitor
            colours = [colour]
            if rng.random() < 1 / 3:  # a third also sells in a second colour
                colours.append(
                    COLOURS[(COLOURS.index(colour) + 1 + rng.randrange(len(COLOURS) - 1)) % len(COLOURS)]
                )
                name = f"{brand} {adjective} {noun}"
            for variant_colour in colours:
                for size in SIZES:
                    options = (
                        {"Size": size} if len(colours) == 1 else {"Colour": variant_colour, "Size": size}
                    )
                    units = 0 if rng.random() < SOLD_OUT_SHARE else rng.randint(1, 60)
                    # XL costs a little more, as it often does.
                    variants.append((options, price + (Decimal("2.00") if size == "XL" else 0), units))
            stock = sum(units for _options, _price, units in variants)
        return Product(
            name=name,
            slug=f"{slugify(name)}-{index}",
            brand=brand,
            sku=sku,
            description=f"{name}: a generated demo product ({noun.lower()}).",
            price=price,
            stock=stock,
            category_id=category_ids[rng.randrange(len(category_ids))],
            is_active=rng.random() >= 0.02,
        ), variants


def _variant_sku(product_sku: str, options: dict[str, str]) -> str:
    colour = options.get("Colour")
    return (
        f"{product_sku}-{colour[:3].upper()}-{options['Size']}"
        if colour
        else f"{product_sku}-{options['Size']}"
    )


def _variant(
    product_id: int, sku: str, options: dict[str, str], price: Decimal, stock: int
) -> ProductVariant:
    # bulk_create skips save(), which fills option_key: set it here.
    return ProductVariant(
        product_id=product_id,
        sku=sku,
        options=options,
        option_key=option_key(options),
        price=price,
        stock=stock,
        is_active=True,
    )
