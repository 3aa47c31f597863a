"""The OpenAPI 3.1 document of the REST API, written from the route table and pydantic schemas."""

from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from aiops_mcp import __version__
from aiops_mcp.server.rest.common import MAX_BODY_BYTES, Endpoint, ErrorOut

REF = "#/components/schemas/{model}"
ERRORS = {
    "400": "Bad JSON or a bad query (the parser's message)",
    "401": "Missing or wrong admin token",
    "403": "API disabled: set AIOPS_MCP_ADMIN_TOKEN",
    "404": "Not found",
    "409": "Name already taken",
    "413": f"Body larger than {MAX_BODY_BYTES} bytes",
    "422": "Field errors",
    "502": "The datasource answered badly or refused our credentials",
    "503": "A datasource or the store cannot be reached",
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    params: list[dict[str, Any]] = []
    if "{ref}" in endpoint.path:
        params.append({"name": "ref", "in": "path", "required": True, "schema": {"type": "string"}})
    params += [
        {
            "name": p.name,
            "in": "query",
            "required": False,
            "schema": {"type": p.type},
            "description": p.description,
        }
        for p in endpoint.params
    ]
    error = {"application/json": {"schema": _ref(ErrorOut)}}
    responses: dict[str, Any] = {
        code: {"description": text, "content": error} for code, text in ERRORS.items()
    }
    if endpoint.response is None:
        responses[str(endpoint.status)] = {"description": "Done"}
    else:
        schema = (
            {"type": "array", "items": _ref(endpoint.response)} if endpoint.many else _ref(endpoint.response)
        )
        responses[str(endpoint.status)] = {
            "description": "OK",
            "content": {"application/json": {"schema": schema}},
        }
    operation: dict[str, Any] = {
        "summary": endpoint.summary,
        "operationId": endpoint.handler.__name__,
        "security": [{"adminToken": []}],
        "responses": dict(sorted(responses.items())),
    }
    if params:
        operation["parameters"] = params
    if endpoint.body is not None:
        content = {"application/json": {"schema": _ref(endpoint.body)}}
        operation["requestBody"] = {"required": True, "content": content}
    return operation


def openapi_document(endpoints: list[Endpoint]) -> dict[str, Any]:
    """Every endpoint with its parameters, body, answers and errors; schemas under components."""
    models: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
        (ErrorOut, "serialization")
    ]
    for endpoint in endpoints:
        if endpoint.body is not None:
            models.append((endpoint.body, "validation"))
        if endpoint.response is not None:
            models.append((endpoint.response, "serialization"))
    _, schemas = models_json_schema(list(dict.fromkeys(models)), ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "aiops-mcp management and query API",
            "version": __version__,
            "description": "Every route needs 'Authorization: Bearer <AIOPS_MCP_ADMIN_TOKEN>'.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
        },
    }
