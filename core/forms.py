"""Django forms (the admin's) held to the API's rules."""

from collections.abc import Iterable


def clean_with_serializer(form, cleaned: dict, serializer_class, names: Iterable[str]) -> dict:
    """Check the form's `names` fields with the API's input serializer (partial: the fields the
    form holds a value for) so the admin cannot save what the API refuses. Valid: `cleaned` takes
    the serializer's normalised values. Invalid: each error lands on its field (on the form when
    the serializer names no field of it). Returns `cleaned`."""
    names = tuple(names)
    data = {name: cleaned[name] for name in names if cleaned.get(name) not in (None, "")}
    serializer = serializer_class(data=data, partial=True)
    if serializer.is_valid():
        cleaned.update({name: value for name, value in serializer.validated_data.items() if name in names})
    else:
        for name, errors in serializer.errors.items():
            form.add_error(name if name in form.fields else None, [str(error) for error in errors])
    return cleaned
