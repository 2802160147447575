"""SQL of the app's access and refresh tokens (rows found by their HMAC digest)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update

from evbilling.infra.db.repository import RepositoryBase
from evbilling.models import AppAccessToken, AppRefreshToken, DriverAccount


@dataclass(frozen=True, slots=True)
class StoredAccess:
    """What a request's authentication needs of an access token and its account, read in a
    short transaction: a plain value that stays valid after it."""

    account_id: int
    driver_id: int
    operator_id: int
    family: str
    expires_at: datetime
    revoked: bool
    closed: bool
    verified: bool


class AppTokenRepository(RepositoryBase[AppRefreshToken]):
    model = AppRefreshToken
    owner_column = None
    kind = "refresh token"

    async def add_pair(
        self,
        *,
        account_id: int,
        family: str,
        access_digest: str,
        access_expires_at: datetime,
        refresh_digest: str,
        refresh_expires_at: datetime,
        now: datetime,
    ) -> None:
        self.db.add(
            AppAccessToken(
                account_id=account_id,
                family=family,
                digest=access_digest,
                issued_at=now,
                expires_at=access_expires_at,
            )
        )
        self.db.add(
            AppRefreshToken(
                account_id=account_id,
                family=family,
                digest=refresh_digest,
                issued_at=now,
                expires_at=refresh_expires_at,
            )
        )
        await self.flush()

    async def access_by_digest(self, digest: str) -> StoredAccess | None:
        row = (
            await self.db.execute(
                select(
                    AppAccessToken.account_id,
                    AppAccessToken.family,
                    AppAccessToken.expires_at,
                    AppAccessToken.revoked_at,
                    DriverAccount.driver_id,
                    DriverAccount.operator_id,
                    DriverAccount.closed_at,
                    DriverAccount.email_verified_at,
                )
                .join(DriverAccount, DriverAccount.id == AppAccessToken.account_id)
                .where(AppAccessToken.digest == digest)
            )
        ).first()
        if row is None:
            return None
        return StoredAccess(
            account_id=row.account_id,
            driver_id=row.driver_id,
            operator_id=row.operator_id,
            family=row.family,
            expires_at=row.expires_at,
            revoked=row.revoked_at is not None,
            closed=row.closed_at is not None,
            verified=row.email_verified_at is not None,
        )

    async def refresh_for_update(self, digest: str) -> AppRefreshToken | None:
        result = await self.db.execute(
            select(AppRefreshToken).where(AppRefreshToken.digest == digest).with_for_update()
        )
        return result.scalar_one_or_none()

    async def account_is_open(self, account_id: int) -> bool:
        closed_at = await self.db.scalar(
            select(DriverAccount.closed_at).where(DriverAccount.id == account_id)
        )
        return closed_at is None

    async def revoke_family(self, *, family: str, now: datetime) -> None:
        for table in (AppAccessToken, AppRefreshToken):
            await self.db.execute(
                update(table)
                .where(table.family == family, table.revoked_at.is_(None))
                .values(revoked_at=now)
            )

    async def revoke_account(self, *, account_id: int, now: datetime) -> None:
        for table in (AppAccessToken, AppRefreshToken):
            await self.db.execute(
                update(table)
                .where(table.account_id == account_id, table.revoked_at.is_(None))
                .values(revoked_at=now)
            )

    async def prune(self, *, access_before: datetime, refresh_before: datetime) -> int:
        """Delete access tokens that expired before `access_before` and refresh tokens (and
        with them their family's record of reuse) that expired before `refresh_before`."""
        gone = 0
        for statement in (
            delete(AppAccessToken).where(AppAccessToken.expires_at < access_before),
            delete(AppRefreshToken).where(AppRefreshToken.expires_at < refresh_before),
        ):
            result = await self.db.execute(statement)
            gone += int(getattr(result, "rowcount", 0) or 0)
        return gone
