"""Model instances loaded from the database without `Model.__init__` (issue 12).

`Model.from_db` is Django's documented hook for customising how a row becomes an instance. Its
default calls `cls(*values)`: `Model.__init__` walks every concrete field, sets each value through
`setattr` and sends `pre_init` and `post_init`, about 25 Python calls per instance. An uncached
list page builds some 60 instances (20 products, their categories, their variants), so that was a
fifth of its Python calls.

`DirectLoad.from_db` builds the same instance directly: a `ModelState` saying "loaded from `db`"
and the loaded values in `__dict__`, which is where `__init__`'s `setattr` puts them for these
models (their field descriptors either have no `__set__` or store the value unchanged in a fresh
instance: a ForeignKey's id, a FileField's name). Deferred fields stay out of `__dict__`, so they
load on access exactly as before. It falls back to Django's own `from_db` whenever that could
differ: a `pre_init` or `post_init` receiver for the model (an ImageField with dimension fields
connects one), or a model whose fields have a setter this module does not know
(`direct_load_safe` is checked once per class).
"""

from __future__ import annotations

import functools

from django.db.models import DEFERRED, Model
from django.db.models.base import ModelState
from django.db.models.fields.files import FileDescriptor
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

# Descriptors whose `__set__` on a fresh instance only stores the value in `__dict__`.
_PLAIN_SETTERS = (ForeignKeyDeferredAttribute, FileDescriptor)


@functools.cache
def direct_load_safe(model) -> bool:
    """Whether setting each concrete field's value in `__dict__` is what `__init__` would do."""
    if model.__init__ is not Model.__init__:
        return False
    for field in model._meta.concrete_fields:
        descriptor = getattr(model, field.attname, None)
        if isinstance(descriptor, _PLAIN_SETTERS):
            continue
        if not isinstance(descriptor, DeferredAttribute) or hasattr(type(descriptor), "__set__"):
            return False
    return True


class DirectLoad:
    """Mix into a model (before `models.Model`) to load its rows without `Model.__init__`."""

    @classmethod
    def from_db(cls, db, field_names, values):
        if (
            not direct_load_safe(cls)
            or (pre_init.receivers and pre_init.has_listeners(cls))
            or (post_init.receivers and post_init.has_listeners(cls))
        ):
            return super().from_db(db, field_names, values)
        attnames = _attnames(cls, tuple(field_names), len(values))
        new = cls.__new__(cls)
        state = new._state = ModelState()
        state.adding = False
        state.db = db
        loaded = new.__dict__
        for attname, value in zip(attnames, values, strict=True):
            if value is not DEFERRED:
                loaded[attname] = value
        return new


@functools.cache
def _attnames(model, field_names: tuple[str, ...], count: int) -> tuple[str, ...]:
    """The attnames `values` holds, in order: Django's `from_db` takes a full row in concrete-field
    order, or the values of the fields named in `field_names`, still in concrete-field order."""
    concrete = [field.attname for field in model._meta.concrete_fields]
    return tuple(concrete if count == len(concrete) else [a for a in concrete if a in field_names])
