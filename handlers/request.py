"""Request plumbing shared by every blueprint: JSON bodies, query models, authentication."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sanic import Request
from sanic.exceptions import BadRequest
from sanic_ext.extensions.openapi.builders import OperationStore

from backend.container import Container
from backend.errors import Forbidden, InvalidInput, Unauthorized
from backend.identity.models import Role
from backend.identity.principal import Principal
from backend.identity.tokens import verify_access_token
from backend.infra.uploads import FileTooLarge
from handlers.contract import contract_of, errors
from handlers.validation import check_text, validation_details

M = TypeVar("M", bound=BaseModel)
Handler = Callable[..., Awaitable[Any]]


def wraps_documented(handler: Handler) -> Callable[[Handler], Handler]:
    """``functools.wraps`` that also keeps the OpenAPI documentation gathered on ``handler``
    (body, parameters, security) for the wrapper, so stacked decorators don't lose it."""

    def decorator(wrapper: Handler) -> Handler:
        wrapper = functools.wraps(handler)(wrapper)
        store = OperationStore()
        if handler in store:
            store[wrapper] = store[handler]
        return wrapper

    return decorator


def container(request: Request) -> Container:
    return request.app.ctx.container


def parse_json(request: Request, model: type[M]) -> M:
    try:
        payload = request.json
    except BadRequest as exc:
        raise InvalidInput("请求体不是有效的 JSON", code="MALFORMED_JSON") from exc
    if payload is None:
        raise InvalidInput("缺少请求体", code="MALFORMED_JSON")
    check_text(payload)
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise InvalidInput(**validation_details(exc)) from exc


def _fields(model: type[M], fields: Any, where: str) -> M:
    """Query-string or form fields (lists of strings) validated against ``model``."""
    raw = {k: v[0] if len(v) == 1 else v for k, v in (fields or {}).items()}
    check_text(raw, where=where)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(**validation_details(exc, where=where)) from exc


def parse_query(request: Request, model: type[M]) -> M:
    # Blank values are kept: "?year=" is not a year (and not the same as leaving it out).
    return _fields(model, request.get_args(keep_blank_values=True), "query")


def query(model: type[BaseModel]) -> Callable[[Handler], Handler]:
    """Validate the query string against ``model`` and pass it as ``query``; documents it too."""

    def decorator(handler: Handler) -> Handler:
        @wraps_documented(handler)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> Any:
            return await handler(request, *args, query=parse_query(request, model), **kwargs)

        contract_of(wrapper).query = model
        return wrapper

    return decorator


def body(model: type[BaseModel]) -> Callable[[Handler], Handler]:
    """Validate the JSON body against ``model`` and pass it as ``body``; documents it too."""

    def decorator(handler: Handler) -> Handler:
        @wraps_documented(handler)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> Any:
            return await handler(request, *args, body=parse_json(request, model), **kwargs)

        contract_of(wrapper).body = model
        return wrapper

    return decorator


async def authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized()
    return await verify_access_token(container(request), token.strip())


def requires(*roles: Role) -> Callable[[Handler], Handler]:
    """Authenticate with a bearer token and admit only ``roles`` (any role when empty)."""

    def decorator(handler: Handler) -> Handler:
        @wraps_documented(handler)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> Any:
            principal = await authenticate(request)
            if roles and principal.role not in roles:
                raise Forbidden()
            request.ctx.principal = principal
            return await handler(request, *args, **kwargs)

        contract = contract_of(wrapper)
        contract.auth = "bearer"
        contract.roles = tuple(str(r) for r in roles)
        return wrapper

    return decorator


def principal(request: Request) -> Principal:
    return request.ctx.principal


MULTIPART_OVERHEAD = 64 * 1024


def uploaded_file(request: Request, field: str = "file") -> bytes:
    """The bytes of one multipart file field, within the upload limit (checked again, by
    content, in the domain)."""
    limit = container(request).settings.upload_max_bytes
    if len(request.body or b"") > limit + MULTIPART_OVERHEAD:
        raise FileTooLarge(max_bytes=limit)
    part = request.files.get(field) if request.files else None
    if part is None:
        raise InvalidInput(
            f"请以 multipart/form-data 格式上传，文件字段名为 {field}", code="FILE_REQUIRED"
        )
    return part.body


def upload_errors(handler: Handler) -> Handler:
    """Document what an uploaded scan or invoice can be refused for (``uploaded_file`` and
    ``backend.infra.uploads.check_upload``)."""
    for status, codes in UPLOAD_ERRORS.items():
        handler = errors(status, *codes)(handler)
    return handler


UPLOAD_ERRORS = {
    413: ("FILE_TOO_LARGE",),
    415: ("FILE_TYPE_UNSUPPORTED",),
    422: (
        "FILE_CORRUPT",
        "FILE_EMPTY",
        "FILE_REQUIRED",
        "IMAGE_TOO_LARGE",
        "IMAGE_TOO_SMALL",
        "OFD_UNSAFE",
        "PDF_TOO_MANY_PAGES",
    ),
}


def parse_form(request: Request, model: type[M]) -> M:
    """The text fields of a multipart form, validated like a JSON body."""
    return _fields(model, request.form, "body")
