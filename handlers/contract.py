"""What each operation promises: the facts the OpenAPI document is built from.

Every decorator that shapes a request or a response records what it does on the handler's
:class:`Contract` (``@requires`` its roles, ``@body`` its model, ``@idempotent`` its header,
``@responds`` the success answer), so the document (``handlers.api_document``) is generated
from the same objects that run, and cannot say something the server does not do.

``@responds(Model)`` also serialises the handler's answer through ``Model``: the JSON sent is
the model's serialisation of what the service returned, so the answer and the document cannot
drift apart (an answer the model refuses is a 500 the tests see, not a silent difference).

A new endpoint must have a Chinese summary (``@openapi.summary``) and ``@responds``; the
contract test (``tests/api/test_api_contract.py``) names each endpoint that lacks one.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

Handler = Callable[..., Awaitable[Any]]

# Ids are database keys (32-bit on every table that has them): a path or query id outside this
# range is answered 404/422 before it reaches the database.
MAX_ID = 2**31 - 1

JSON = "application/json"


class ResponseModelMismatch(RuntimeError):
    """The service's answer does not fit the documented response model (a bug, answered 500)."""


@dataclass(frozen=True)
class Header:
    name: str
    description: str
    required: bool = False
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True)
class Success:
    status: int
    model: Any = None  # a pydantic model or a type pydantic can describe; None: no body
    media_type: str = "application/json"
    description: str = "成功"
    binary_types: tuple[str, ...] = ()  # e.g. ("image/png",) for non-JSON answers


@dataclass
class Contract:
    auth: str = "public"  # "public", "bearer", "terminal", "wechatpay"
    roles: tuple[str, ...] = ()  # bearer: the roles admitted (empty: any signed-in account)
    body: type[BaseModel] | None = None
    multipart: dict[str, Any] | None = None  # schema of a multipart/form-data body
    form: type[BaseModel] | None = None  # the text fields of that body (``parse_form``)
    query: type[BaseModel] | None = None
    headers: list[Header] = field(default_factory=list)
    successes: list[Success] = field(default_factory=list)
    errors: dict[int, set[str]] = field(default_factory=dict)  # status -> stable codes
    html: bool = False  # an HTML page, not part of the API document

    def error(self, status: int, *codes: str) -> None:
        self.errors.setdefault(status, set()).update(codes)


CONTRACT_ATTR = "__yibao_contract__"


def contract_of(handler: Handler) -> Contract:
    """The handler's contract, shared by every wrapper (``functools.wraps`` copies it)."""
    found = getattr(handler, CONTRACT_ATTR, None)
    if found is None:
        found = Contract()
        setattr(handler, CONTRACT_ATTR, found)
    return found


def errors(status: int, *codes: str) -> Callable[[Handler], Handler]:
    """Document error codes an operation answers with ``status`` besides those its decorators
    imply (authentication, validation, ids, idempotency)."""

    def decorator(handler: Handler) -> Handler:
        contract_of(handler).error(status, *codes)
        return handler

    return decorator


def header(
    name: str, description: str, *, required: bool = False, **schema: Any
) -> Callable[[Handler], Handler]:
    def decorator(handler: Handler) -> Handler:
        contract_of(handler).headers.append(
            Header(name, description, required, {"type": "string", **schema})
        )
        return handler

    return decorator


def multipart(
    form: type[BaseModel] | None = None, **parts: tuple[str, str]
) -> Callable[[Handler], Handler]:
    """Document a required ``multipart/form-data`` body: each file part as (description, type),
    and the text fields ``form`` (the model ``parse_form`` validates them with)."""

    def decorator(handler: Handler) -> Handler:
        contract = contract_of(handler)
        contract.form = form
        contract.multipart = {
            "type": "object",
            "required": list(parts),
            "properties": {
                name: {
                    "type": "string",
                    "format": "binary",
                    "contentMediaType": media_type,
                    "description": description,
                }
                for name, (description, media_type) in parts.items()
            },
        }
        return handler

    return decorator


# Blueprints of HTML pages (the staff console): not part of the API document.
HTML_BLUEPRINTS: set[str] = set()


def html_blueprint(blueprint: Blueprint) -> None:
    HTML_BLUEPRINTS.add(blueprint.name)


def is_html(route_name: str, handler: Handler) -> bool:
    """Whether a route (``app.blueprint.handler``) is an HTML page rather than an operation."""
    parts = route_name.split(".")
    return contract_of(handler).html or (len(parts) > 2 and parts[1] in HTML_BLUEPRINTS)


def html_page(handler: Handler) -> Handler:
    """Mark a handler as an HTML page (the console, the docs): not part of the API document."""
    contract_of(handler).html = True
    return handler


def _adapter(model: Any) -> TypeAdapter[Any]:
    return model if isinstance(model, TypeAdapter) else _adapter_of(model)


@functools.cache
def _adapter_of(model: Any) -> TypeAdapter[Any]:
    """One adapter per response model, built once: building it compiles the model's validator
    and serialiser, which cost /me about a tenth of its CPU when done on every request."""
    return TypeAdapter(model)


def serialise(model: Any, payload: Any) -> bytes:
    """``payload`` validated through ``model`` and dumped as JSON (bytes, by pydantic's own
    serialiser: no intermediate dict, no second encoder)."""
    adapter = _adapter(model)
    try:
        value = adapter.validate_python(payload)
    except ValidationError as exc:
        raise ResponseModelMismatch(f"answer does not fit {model!r}: {exc}") from exc
    return adapter.dump_json(value, by_alias=True, exclude_unset=True)


def _reserialise(model: Any, body: bytes) -> bytes:
    """A JSON body a handler built itself, validated through ``model`` and dumped again."""
    adapter = _adapter(model)
    try:
        value = adapter.validate_json(body)
    except ValidationError as exc:
        raise ResponseModelMismatch(f"answer does not fit {model!r}: {exc}") from exc
    return adapter.dump_json(value, by_alias=True, exclude_unset=True)


def responds(
    model: Any = None,
    *,
    status: int = 200,
    description: str = "成功",
    media_type: str = "application/json",
    binary_types: tuple[str, ...] = (),
) -> Callable[[Handler], Handler]:
    """Document a success answer and serialise the handler's result through ``model``.

    The handler returns plain data (a dict, a list, a model) that is answered as JSON with
    ``status``; or an ``HTTPResponse`` (another status, an image, a replay), whose JSON body is
    still passed through the model of its status when one is documented. Stack one
    ``@responds`` per documented success status; ``model=None`` documents an empty answer.
    """

    def decorator(handler: Handler) -> Handler:
        contract = contract_of(handler)
        contract.successes.insert(0, Success(status, model, media_type, description, binary_types))
        if getattr(handler, "__yibao_serialises__", False):
            return handler

        # Outer ``@responds`` of the same handler add their statuses after this one: read
        # them on the first call, when the decorators have all run.
        @functools.cache
        def documented() -> tuple[Success, dict[int, Success]]:
            return contract.successes[0], {s.status: s for s in contract.successes}

        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> Any:
            result = await handler(request, *args, **kwargs)
            first, by_status = documented()
            if isinstance(result, HTTPResponse):
                success = by_status.get(result.status)
                if (
                    success is not None
                    and success.model is not None
                    and (result.content_type or "").startswith("application/json")
                    and result.body
                ):
                    result.body = _reserialise(success.model, result.body)
                return result
            return HTTPResponse(
                serialise(first.model, result), status=first.status, content_type=JSON
            )

        serialising = _wraps(handler)(wrapper)
        serialising.__yibao_serialises__ = True  # type: ignore[attr-defined]
        return serialising

    return decorator


def _wraps(handler: Handler) -> Callable[[Handler], Handler]:
    # Imported late: handlers.request imports this module.
    from handlers.request import wraps_documented

    return wraps_documented(handler)
