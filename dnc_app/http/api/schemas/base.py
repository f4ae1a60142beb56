"""What every model of the /v1 contract shares: the base class, the refusal markers that
map a failed field to its documented error code, and the one parse step.

A request is read in one step, `parse(Model, source)`: pydantic checks the shape and the
limits the model declares (the same declarations the OpenAPI document is generated
from), and the first failure is answered as the field's marker says, e.g.
`Annotated[str, Refuse(missing=("missing_url", "URL is required"))]`. The mapping is by
pydantic's error *kind* (missing, wrong type, too short, too long, a bad item), never by
its message, so the documented codes and messages stay the API's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.json_schema import JsonDict
from pydantic_core import ErrorDetails, PydanticCustomError

from dnc_app.http.api.errors import ApiError

# (code, message); the message may name {name}, {index}, {got} (an array's length) and
# {limit} (the marker's own `limit`).
Answer = tuple[str, str]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Refuse:
    """How a field's refusals are answered, by kind of failure (Annotated metadata)."""

    # Absent, or null where null is not allowed (and an empty string when `empty` is unset).
    missing: Answer | None = None
    # Null, when that is not `missing` (the field was sent).
    null: Answer | None = None
    # A value of another JSON type.
    type: Answer | None = None
    # Shorter than the declared minimum (an empty array or string).
    empty: Answer | None = None
    # Longer than the declared maximum.
    too_long: Answer | None = None
    # An item of an array that fails (message with {index}).
    item: Answer | None = None
    limit: int | None = None


class ApiModel(BaseModel):
    """A JSON object of the API. Strict: a number is not a string, "1" is not true."""

    model_config = ConfigDict(strict=True, populate_by_name=True, frozen=True)


def length(min_length: int | None = None, max_length: int | None = None) -> tuple:
    """String length bounds checked in Python (pydantic's own bounds refuse a string with
    a lone surrogate as "not a string", before the service can say what is wrong with
    it), refused as the field's marker says for too short / too long."""

    def check(value: object) -> object:
        if isinstance(value, str):
            if min_length is not None and len(value) < min_length:
                raise PydanticCustomError("string_too_short", "too short")
            if max_length is not None and len(value) > max_length:
                raise PydanticCustomError("string_too_long", "too long")
        return value

    bounds = {"minLength": min_length, "maxLength": max_length}
    schema: JsonDict = {name: value for name, value in bounds.items() if value is not None}
    return AfterValidator(check), Field(json_schema_extra=schema)


def _not_null(value: object) -> object:
    if value is None:
        raise PydanticCustomError("null_given", "null")
    return value


# An optional field that, when sent, must not be null:
# `Annotated[T | SkipJsonSchema[None], *NOT_NULL] = None` (None in Python means "not
# sent"; the schema has no null).
NOT_NULL = (BeforeValidator(_not_null),)


def refuse(code: str, message: str) -> PydanticCustomError:
    """The error a validator raises: answered as (code, message) as it is."""
    return PydanticCustomError(_OWN + code, message)


_TYPE_KINDS = frozenset({"too_short", "string_too_short", "too_long", "string_too_long"})
# The error type of refuse(): "api:<code>".
_OWN = "api:"


def parse(model: type[M], source: Mapping[str, Any]) -> M:
    """`source` (a JSON object, or the query arguments) as `model`, or the ApiError its
    markers name for the first refused field (in the model's field order)."""
    try:
        return model.model_validate(source)
    except ValidationError as exc:
        raise _answer(model, exc, source) from None


def _answer(model: type[BaseModel], exc: ValidationError, source: Mapping[str, Any]) -> ApiError:
    all_errors = exc.errors(include_url=False, include_context=False)
    # The union's other branch ("should be None") says nothing about the value sent.
    errors: list[ErrorDetails] = [
        # A union's branch names are not positions: (field, "list[str]", 0) is (field, 0).
        ErrorDetails(
            type=error["type"],
            loc=error["loc"][:1] + tuple(p for p in error["loc"][1:] if isinstance(p, int)),
            msg=error["msg"],
            input=error["input"],
        )
        for error in all_errors
        if error["type"] != "none_required"
    ] or all_errors
    fields = model.model_fields
    by_alias = {(f.alias or name): name for name, f in fields.items()}
    order = {alias: i for i, alias in enumerate(by_alias)}

    def rank(error) -> tuple[int, int]:
        loc = error["loc"]
        field = order.get(loc[0], -1) if loc else -1
        return (field, len(loc))

    error = min(errors, key=rank)
    loc, kind = error["loc"], error["type"]
    if kind.startswith(_OWN):
        return ApiError(kind.removeprefix(_OWN), error["msg"])
    if not loc:
        return ApiError("invalid_parameter", "the request is not valid")
    alias = str(loc[0])
    name = by_alias.get(alias, alias)
    field = fields.get(name)
    if kind == "extra_forbidden":
        extra = getattr(model, "refuse_extra", None)
        if callable(extra):
            code, message = extra(alias)
            return ApiError(code, message)
        return ApiError("invalid_parameter", f"unknown field {alias[:40]!r}")
    marker = _marker(field.metadata if field is not None else ())
    given = source.get(alias) if hasattr(source, "get") else None
    answer = _pick(marker, kind, loc, error.get("input"))
    if answer is None:
        return ApiError("invalid_parameter", f"{alias} is not valid")
    code, template = answer
    got = len(given) if isinstance(given, list | str) else 0
    index = loc[1] if len(loc) > 1 else 0
    limit = marker.limit if marker is not None else None
    return ApiError(
        code,
        template.format(
            name=alias, index=index, got=f"{got:,}", limit=f"{limit:,}" if limit else ""
        ),
    )


def _marker(metadata: list | tuple) -> Refuse | None:
    return next((m for m in metadata if isinstance(m, Refuse)), None)


def _pick(marker: Refuse | None, kind: str, loc: tuple, value: object) -> Answer | None:
    if marker is None:
        return None
    if len(loc) > 1:
        return marker.item or marker.type
    if kind == "missing":
        return marker.missing or marker.type
    if value is None and kind not in _TYPE_KINDS:
        return marker.null or marker.missing or marker.type
    if kind in ("too_short", "string_too_short"):
        return marker.empty or marker.missing
    if kind in ("too_long", "string_too_long"):
        return marker.too_long or marker.type
    return marker.type


def query_source(args: Mapping[str, str], model: type[BaseModel]) -> dict[str, str]:
    """The query arguments a model reads (the first value of each; others ignored)."""
    names = [(f.alias or name) for name, f in model.model_fields.items()]
    return {name: args[name] for name in names if name in args}
