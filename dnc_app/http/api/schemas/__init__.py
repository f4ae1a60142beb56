"""The /v1 contract as pydantic models: every request body and query, every response's
`data`, the error envelope. Requests are read with `parse(Model, source)`; the OpenAPI
document (api/openapi.py) is generated from the same models."""

from dnc_app.http.api.schemas.base import ApiModel, Refuse, parse, query_source, refuse
from dnc_app.http.api.schemas.common import Error, RateLimitError, ResponseModel

__all__ = [
    "ApiModel",
    "Error",
    "RateLimitError",
    "Refuse",
    "ResponseModel",
    "parse",
    "query_source",
    "refuse",
]
