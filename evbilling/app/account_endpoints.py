"""Account routes of the driver app (tag "account"): sign-up, e-mail verification, log-in,
token refresh, log-out, password change and reset, the driver's own account.

argon2 runs with no transaction open: a route hashes or verifies first, or reads what it
needs in a short unit of work of its own, and only then writes (docs/app-api.md).
"""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from evbilling.access.app_tokens import (
    InvalidAppToken,
    issue_token_pair,
    revoke_family_of,
    rotate_refresh_token,
)
from evbilling.access.driver_caller import CurrentDriver, bearer_token
from evbilling.app.account_schemas import (
    AcceptedRead,
    LoginRequest,
    MeRead,
    PasswordChangeRequest,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    SignUpRequest,
    TokenRead,
    VerifiedRead,
    VerifyEmailRequest,
)
from evbilling.app.api_edge import AppEdge, app_edge
from evbilling.app.closure import close_driver_account
from evbilling.drivers import accounts
from evbilling.drivers.account_domain import (
    MAX_LINK_TOKEN_LENGTH,
    InvalidCredentials,
    WrongPassword,
    check_password,
    login_email,
    password_is_checkable,
    throttle_key,
)
from evbilling.infra.http.addresses import client_address
from evbilling.infra.http.deps import Context, Db
from evbilling.infra.http.schemas import no_store, problems
from evbilling.infra.secrets import hash_secret_async, verify_secret_async
from evbilling.infra.validation import MAX_NAME_LENGTH, required_text

router = APIRouter(tags=["account"])
Edge = Annotated[AppEdge, Depends(app_edge)]

_dummy_hash: str | None = None


async def _verify_or_pretend(password: str, password_hash: str | None) -> bool:
    """argon2 against the account's hash, or against a stand-in when there is no account,
    so an unknown address costs the same time as a wrong password."""
    global _dummy_hash
    if password_hash is None:
        if _dummy_hash is None:
            _dummy_hash = await hash_secret_async("no account has this password")
        await verify_secret_async(secret="x", secret_hash=_dummy_hash)
        return False
    return await verify_secret_async(secret=password, secret_hash=password_hash)


def _tokens(response: Response, pair: object) -> TokenRead:
    no_store(response)
    return TokenRead.model_validate(pair)


@router.post(
    "/signup",
    response_model=AcceptedRead,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Sign up: a driver account; a verification link is mailed",
    responses=problems(409, 429),
)
async def sign_up(
    body: SignUpRequest, request: Request, db: Db, context: Context, edge: Edge
) -> AcceptedRead:
    login_email(body.email)
    required_text(body.name, field="name", max_length=MAX_NAME_LENGTH)
    check_password(body.password)
    edge.throttle.admit_signup(address=client_address(request.scope))
    password_hash = await hash_secret_async(body.password)  # before the transaction opens
    await accounts.sign_up(
        db=db,
        hasher=context.api_keys,
        operator_id=body.operator_id,
        email=body.email,
        name=body.name,
        password_hash=password_hash,
        links=edge.links,
        now=context.clock.now(),
    )
    return AcceptedRead(detail="check your mail for the link that confirms your address")


@router.get(
    "/verify-email",
    response_class=HTMLResponse,
    summary="Verify the e-mail address (the mailed link)",
    responses=problems(),
)
async def verify_email_link(
    db: Db, context: Context, token: Annotated[str, Query(max_length=MAX_LINK_TOKEN_LENGTH)]
) -> HTMLResponse:
    await accounts.verify_email(
        db=db, hasher=context.api_keys, token=token, now=context.clock.now()
    )
    text = html.escape("Your e-mail address is confirmed. You can close this page.")
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>Confirmed</title></head>"
        f"<body><p>{text}</p></body></html>"
    )


@router.post(
    "/verify-email",
    response_model=VerifiedRead,
    summary="Verify the e-mail address with the mailed token",
    responses=problems(),
)
async def verify_email(body: VerifyEmailRequest, db: Db, context: Context) -> VerifiedRead:
    await accounts.verify_email(
        db=db, hasher=context.api_keys, token=body.token, now=context.clock.now()
    )
    return VerifiedRead(verified=True)


@router.post(
    "/verify-email/resend",
    response_model=AcceptedRead,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Mail a new verification link",
    responses=problems(),
)
async def resend_verification(
    caller: CurrentDriver, db: Db, context: Context, edge: Edge
) -> AcceptedRead:
    sent = await accounts.resend_verification(
        db=db,
        hasher=context.api_keys,
        account_id=caller.account_id,
        links=edge.links,
        now=context.clock.now(),
    )
    return AcceptedRead(detail="a new link is on its way" if sent else "already verified")


@router.post(
    "/login",
    response_model=TokenRead,
    summary="Log in: an access token and a refresh token",
    responses=problems(429),
)
async def log_in(
    body: LoginRequest, request: Request, response: Response, context: Context, edge: Edge
) -> TokenRead:
    key = throttle_key(body.email)
    address = client_address(request.scope)
    edge.throttle.admit(account=key, address=address)
    stored = None
    if password_is_checkable(body.password):
        async with context.unit_of_work() as db:
            stored = await accounts.find_login(db=db, email=body.email)
    hash_ = stored.password_hash if stored is not None else None
    verified = await _verify_or_pretend(body.password, hash_)
    if stored is None or not verified:
        edge.throttle.failed(account=key, address=address)
        raise InvalidCredentials("wrong e-mail address or password")
    edge.throttle.succeeded(account=key, address=address)
    async with context.unit_of_work() as db:
        pair = await issue_token_pair(
            db=db, hasher=context.api_keys, account_id=stored.account_id, now=context.clock.now()
        )
        await db.commit()
    return _tokens(response, pair)


@router.post(
    "/token/refresh",
    response_model=TokenRead,
    summary="Use the refresh token once: a new pair",
    responses=problems(),
)
async def refresh(body: RefreshRequest, response: Response, context: Context) -> TokenRead:
    async with context.unit_of_work() as db:
        pair = await rotate_refresh_token(
            db=db,
            hasher=context.api_keys,
            refresh_token=body.refresh_token,
            now=context.clock.now(),
        )
        await db.commit()  # also a revocation on reuse, before refusing
    if pair is None:
        raise InvalidAppToken("this refresh token was already used: its sign-in is signed out")
    return _tokens(response, pair)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Log out: this sign-in's tokens are revoked",
    responses=problems(),
)
async def log_out(
    db: Db, context: Context, authorization: Annotated[str | None, Header()] = None
) -> Response:
    await revoke_family_of(
        db=db,
        hasher=context.api_keys,
        access_token=bearer_token(authorization),
        now=context.clock.now(),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/password",
    response_model=TokenRead,
    summary="Change the password: every sign-in is signed out, this one gets new tokens",
    responses=problems(429),
)
async def change_password(
    body: PasswordChangeRequest,
    caller: CurrentDriver,
    request: Request,
    response: Response,
    context: Context,
    edge: Edge,
) -> TokenRead:
    check_password(body.new_password, field="new_password")
    key = f"account:{caller.account_id}"
    address = client_address(request.scope)
    edge.throttle.admit(account=key, address=address)
    async with context.unit_of_work() as db:
        current_hash = await accounts.password_hash_of(db=db, account_id=caller.account_id)
    if not password_is_checkable(body.current_password) or not await _verify_or_pretend(
        body.current_password, current_hash
    ):
        edge.throttle.failed(account=key, address=address)
        raise WrongPassword("is not the account's password", field="current_password")
    edge.throttle.succeeded(account=key, address=address)
    new_hash = await hash_secret_async(body.new_password)
    async with context.unit_of_work() as db:
        now = context.clock.now()
        await accounts.set_password(
            db=db, account_id=caller.account_id, password_hash=new_hash, now=now
        )
        pair = await issue_token_pair(
            db=db, hasher=context.api_keys, account_id=caller.account_id, now=now
        )
        await db.commit()
    return _tokens(response, pair)


@router.post(
    "/password-reset",
    response_model=AcceptedRead,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ask for a password reset link (always accepted)",
    responses=problems(),
)
async def request_password_reset(
    body: PasswordResetRequest, db: Db, context: Context, edge: Edge
) -> AcceptedRead:
    await accounts.request_password_reset(
        db=db, hasher=context.api_keys, email=body.email, links=edge.links, now=context.clock.now()
    )
    return AcceptedRead(detail="if an account has this address, a reset link is on its way")


@router.post(
    "/password-reset/confirm",
    response_model=TokenRead,
    summary="Set a new password with the mailed code: signed in afresh",
    responses=problems(),
)
async def confirm_password_reset(
    body: PasswordResetConfirm,
    request: Request,
    response: Response,
    context: Context,
    edge: Edge,
) -> TokenRead:
    async with context.unit_of_work() as db:
        await accounts.check_reset_link(
            db=db, hasher=context.api_keys, token=body.token, now=context.clock.now()
        )
    check_password(body.password)
    password_hash = await hash_secret_async(body.password)
    async with context.unit_of_work() as db:
        now = context.clock.now()
        account_id = await accounts.reset_password(
            db=db, hasher=context.api_keys, token=body.token, password_hash=password_hash, now=now
        )
        account = await accounts.get_account(db=db, account_id=account_id)
        pair = await issue_token_pair(
            db=db, hasher=context.api_keys, account_id=account_id, now=now
        )
        await db.commit()
    # The mailbox was reached: this address is trusted for the account's log-ins.
    edge.throttle.succeeded(account=account.email, address=client_address(request.scope))
    return _tokens(response, pair)


@router.get("/me", response_model=MeRead, summary="The driver's account", responses=problems())
async def get_me(caller: CurrentDriver, db: Db) -> MeRead:
    return MeRead.model_validate(await accounts.get_account(db=db, account_id=caller.account_id))


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Close the account: signed out everywhere, the address forgotten",
    responses=problems(),
)
async def close_me(caller: CurrentDriver, request: Request, context: Context) -> Response:
    # Not the request's `Db`: a wallet's refunds call the provider between transactions.
    edge = getattr(request.app.state, "payments", None)
    await close_driver_account(
        context=context, provider=edge.provider if edge is not None else None, caller=caller
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
