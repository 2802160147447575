"""API-key routes: the caller's operator issues, lists and revokes its own keys."""

from __future__ import annotations

from enum import Enum

from fastapi import APIRouter, Response, status

from evbilling.access import service as access
from evbilling.access.caller import CurrentCaller
from evbilling.access.schemas import ApiKeyCreate, ApiKeyIssuedRead, ApiKeyList
from evbilling.infra.db.repository import PageRequest
from evbilling.infra.http.deps import Context, Db
from evbilling.infra.http.schemas import Limit, Offset, no_store, problems

router = APIRouter()
_TAG: list[str | Enum] = ["api keys"]


@router.get(
    "/api-keys",
    response_model=ApiKeyList,
    tags=_TAG,
    summary="List the operator's API keys (never the keys themselves)",
    responses=problems(),
)
async def list_api_keys(
    caller: CurrentCaller, db: Db, limit: Limit = 50, offset: Offset = 0
) -> ApiKeyList:
    page = await access.list_api_keys(
        db=db, operator_id=caller.operator_id, page=PageRequest(limit=limit, offset=offset)
    )
    return ApiKeyList.model_validate(page)


@router.post(
    "/api-keys",
    response_model=ApiKeyIssuedRead,
    status_code=status.HTTP_201_CREATED,
    tags=_TAG,
    summary="Issue an API key; returns it once",
    responses=problems(),
)
async def create_api_key(
    body: ApiKeyCreate,
    caller: CurrentCaller,
    db: Db,
    context: Context,
    response: Response,
) -> ApiKeyIssuedRead:
    issued = await access.create_api_key(
        db=db,
        operator_id=caller.operator_id,
        name=body.name,
        now=context.clock.now(),
        hasher=context.api_keys,
        scopes=[scope.value for scope in body.scopes],
        granted_by=caller.scopes,
    )
    no_store(response)
    return ApiKeyIssuedRead.model_validate(issued)


@router.delete(
    "/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=_TAG,
    summary="Revoke an API key at once (the caller's own one too)",
    responses=problems(404),
)
async def revoke_api_key(key_id: int, caller: CurrentCaller, db: Db, context: Context) -> Response:
    await access.revoke_api_key(
        db=db, operator_id=caller.operator_id, key_id=key_id, now=context.clock.now()
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
