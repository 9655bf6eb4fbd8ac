"""Units of the numbers in requests and responses: one source for the OpenAPI descriptions and the
range errors.

A :class:`Unit` rides in a field's ``Annotated`` metadata (``Annotated[float, ..., FRACTION]``). The
models' JSON-schema hook (:func:`describe_units`) appends ``Unit: <text>.`` to the property's
description, and :func:`ipledge.valuation.errors.field_errors` turns pydantic's "less than or equal to 1" into
"must be a fraction between 0 and 1; 0.35 means 35%" from the same object.
"""
from __future__ import annotations

import types
import typing
from dataclasses import dataclass

from pydantic import BaseModel, RootModel


@dataclass(frozen=True)
class Unit:
    text: str        #: in the property's description: "Unit: <text>."
    noun: str        #: in a range error: "must be <noun> between 0 and 1"
    hint: str = ""   #: appended to a range error: "; 0.35 means 35%"


CNY = Unit("CNY", "an amount in CNY")
CNY_PER_YEAR = Unit("CNY per year", "an amount in CNY per year")
FRACTION = Unit("fraction 0-1 (0.35 = 35%)", "a fraction", "0.35 means 35%")
RATE = Unit("fraction per year (0.05 = 5% a year)", "a rate per year as a fraction", "0.05 means 5% a year")
PROBABILITY = Unit("probability 0-1 (0.10 = 10%)", "a probability", "0.10 means 10%")
YEARS = Unit("years", "a number of years")
YEAR = Unit("calendar year", "a calendar year")
COUNT = Unit("count", "a whole number")
POINTS = Unit("points 0-100", "a score in points")
DIMENSIONLESS = Unit("dimensionless", "a number")
SECONDS = Unit("seconds", "a number of seconds")

UNITS = (CNY, CNY_PER_YEAR, FRACTION, RATE, PROBABILITY, YEARS, YEAR, COUNT, POINTS, DIMENSIONLESS, SECONDS)


def unit_in(annotation, metadata=()) -> Unit | None:
    """The first :class:`Unit` in ``metadata`` or anywhere in the type ``annotation`` (Annotated, unions,
    list items, dict values)."""
    for m in metadata:
        if isinstance(m, Unit):
            return m
    if typing.get_origin(annotation) is typing.Annotated:
        found = unit_in(None, annotation.__metadata__)
        return found or unit_in(annotation.__origin__)
    for arg in typing.get_args(annotation):
        found = unit_in(arg)
        if found:
            return found
    return None


def field_unit(model: type[BaseModel], name: str) -> Unit | None:
    f = model.model_fields[name]
    return unit_in(f.annotation, f.metadata)


def describe(description: str | None, unit: Unit | None) -> str | None:
    if unit is None:
        return description
    text = (description or "").rstrip()
    if text and not text.endswith("."):
        text += "."
    return f"{text} Unit: {unit.text}." if text else f"Unit: {unit.text}."


def describe_units(schema: dict, model: type[BaseModel]) -> None:
    """JSON-schema hook of the models: each property's description gets its field's unit."""
    props = schema.get("properties", {})
    for name, f in model.model_fields.items():
        key = f.alias or name
        if key in props:
            text = describe(f.description, unit_in(f.annotation, f.metadata))
            if text:
                props[key]["description"] = text


# -- locating the field of an error ----------------------------------------------------------

def _is_union(tp) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _unwrap(tp, metadata: list):
    while typing.get_origin(tp) is typing.Annotated:
        metadata.extend(tp.__metadata__)
        tp = tp.__origin__
    return tp


def metadata_at(tp, loc: tuple) -> list:
    """Annotated metadata (outermost first) of the value at ``loc`` (a pydantic error location) in a
    value of type ``tp``; [] when the location cannot be followed."""
    meta: list = []
    tp = _unwrap(tp, meta)
    if not loc:
        for arm in typing.get_args(tp) if _is_union(tp) else ():
            if arm is not type(None):
                meta.extend(metadata_at(arm, ()))
        return meta
    head, rest = loc[0], loc[1:]
    if head == "[key]":
        return []
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        fields = tp.model_fields
        if issubclass(tp, RootModel):
            return metadata_at(fields["root"].annotation, loc)   # RootModel: no part for the root
        f = fields.get(head) if isinstance(head, str) else None
        if f is None:
            return []
        inner = metadata_at(f.annotation, rest)
        return (list(f.metadata) + inner) if not rest else inner
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if _is_union(tp):
        for arm in args:
            if arm is type(None):
                continue
            arm_t = _unwrap(arm, [])
            # tagged unions put the tag in the location
            if isinstance(head, str) and isinstance(arm_t, type) and issubclass(arm_t, BaseModel):
                tag_field = next((f for f in arm_t.model_fields.values()
                                  if typing.get_origin(f.annotation) is typing.Literal
                                  and head in typing.get_args(f.annotation)), None)
                if tag_field is not None:
                    return metadata_at(arm, rest)
            found = metadata_at(arm, loc)
            if found:
                return found
        return []
    if origin in (list, tuple, set) and isinstance(head, int) and args:
        return metadata_at(args[0], rest)
    if origin is dict and isinstance(head, str) and len(args) == 2:
        return metadata_at(args[1], rest)
    return []


#: models whose validation errors :func:`ipledge.valuation.errors.field_errors` can trace to a field's unit,
#: by the title pydantic gives their ValidationError (the class name); filled by :func:`register`
MODELS: dict[str, type[BaseModel]] = {}


def register(model: type[BaseModel]) -> type[BaseModel]:
    MODELS.setdefault(model.__name__, model)
    return model
