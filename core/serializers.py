"""Serializer plumbing shared by the apps' output serializers (no shapes here)."""

from __future__ import annotations

import copy
from collections.abc import Mapping

from rest_framework import serializers
from rest_framework.fields import Field, SkipField
from rest_framework.relations import PKOnlyObject, RelatedField

_GENERIC = object()


class PrebuiltFieldsMixin:
    """Build a serializer class's fields once, then hand every instance fresh copies.

    DRF's `ModelSerializer.get_fields()` introspects the model, maps every model field to a
    serializer field and works out uniqueness validators, on every instance: for a product
    detail that was a quarter of the request. The result depends only on the class (its `Meta`
    and declared fields), so it is computed once per class and kept as a prototype that is never
    bound or used. Each instance gets new field objects: a plain field is a clone of the unbound
    prototype (its attribute dict copied: what its constructor set, without running it again);
    a relation is rebuilt from the prototype's constructor arguments (what `Field.__deepcopy__`
    does, without deep-copying immutable arguments); nested serializers and fields holding
    another field are deep-copied as DRF does. So no field, its parent or its context is ever
    shared between requests or threads.

    Not for a serializer whose `get_fields()` depends on the instance, its data or its context,
    nor one that changes its `fields` after the first `to_representation()`.
    """

    def get_fields(self):
        cls = type(self)
        plan = cls.__dict__.get("_prebuilt_plan")
        if plan is None:
            prototype = super().get_fields()
            plan = [(name, field, _copy_maker(field)) for name, field in prototype.items()]
            # A race builds them twice, identically: harmless. The plan is set last: a reader that
            # sees it sees the prototype too.
            cls._prebuilt_fields = prototype
            cls._prebuilt_plan = plan
        return {name: make(field) for name, field, make in plan}

    def to_representation(self, instance):
        """DRF's `Serializer.to_representation`, with the readable fields listed once per serializer
        (a list serializer's child serves every row) and a plain `getattr` for fields whose
        source is one attribute. Anything else (a dict, a dotted or `*` source, a callable, a
        missing attribute, a field with its own `get_attribute`) takes DRF's own path, so
        defaults, nulls and error messages are DRF's."""
        plan = self.__dict__.get("_representation_plan")
        if plan is None:
            plan = [(field.field_name, field, _plain_attribute(field)) for field in self._readable_fields]
            self._representation_plan = plan
        if isinstance(instance, Mapping):
            return super().to_representation(instance)
        ret = {}
        for name, field, attr in plan:
            attribute = _GENERIC
            if attr is not None:
                try:
                    attribute = getattr(instance, attr)
                except Exception:  # DRF's path below raises or maps it exactly as it always did
                    attribute = _GENERIC
                if callable(attribute):
                    attribute = _GENERIC
            if attribute is _GENERIC:
                try:
                    attribute = field.get_attribute(instance)
                except SkipField:
                    continue
            check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            ret[name] = None if check_for_none is None else field.to_representation(attribute)
        return ret


def _plain_attribute(field: Field) -> str | None:
    """The attribute name when reading the field is exactly `getattr(instance, name)`."""
    if type(field).get_attribute is not Field.get_attribute or len(field.source_attrs) != 1:
        return None
    return field.source_attrs[0]


def _fresh(field: serializers.Field) -> serializers.Field:
    return _copy_maker(field)(field)


def _deep_copy(field: serializers.Field) -> serializers.Field:
    return copy.deepcopy(field)  # a nested serializer: its child and its own fields are not shared


def _construct(field: serializers.Field) -> serializers.Field:
    return field.__class__(*field._args, **field._kwargs)


def _clone(field: serializers.Field) -> serializers.Field:
    """A new field object with the unbound prototype's attributes: what its constructor would set
    (the constructor ran once, for the prototype), for a fraction of the cost. `bind()` then sets
    the clone's own parent, name and source; the prototype is never bound."""
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone


def _copy_maker(field: serializers.Field):
    """How to give an instance its own copy of a prototype field. A nested serializer, or a field
    that holds another field (a ManyRelatedField's child relation, a ListField's child), is
    deep-copied as DRF copies declared fields, so the inner field is never shared either; a
    relation is rebuilt from its arguments; a plain field is cloned."""
    if isinstance(field, serializers.BaseSerializer):
        return _deep_copy
    if any(isinstance(value, Field) for value in vars(field).values()):
        return _deep_copy  # DRF's own copy: the inner (already bound) field is copied too
    if isinstance(field, RelatedField):
        return _construct
    return _clone


class PrebuiltModelSerializer(PrebuiltFieldsMixin, serializers.ModelSerializer):
    """A read-side ModelSerializer whose fields are built once per class (see PrebuiltFieldsMixin)."""
