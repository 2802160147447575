"""SQL of driver accounts and their one-time links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from evbilling.infra.db.repository import RepositoryBase
from evbilling.models import AccountLink, DriverAccount


class DriverAccountRepository(RepositoryBase[DriverAccount]):
    model = DriverAccount
    kind = "account"

    async def by_email(self, email: str) -> DriverAccount | None:
        result = await self.db.execute(select(DriverAccount).where(DriverAccount.email == email))
        return result.scalar_one_or_none()

    async def add_link(
        self, *, account_id: int, purpose: str, digest: str, expires_at: datetime, now: datetime
    ) -> AccountLink:
        link = AccountLink(
            account_id=account_id,
            purpose=purpose,
            digest=digest,
            created_at=now,
            expires_at=expires_at,
        )
        self.db.add(link)
        await self.flush()
        return link

    async def link_for_update(self, digest: str) -> AccountLink | None:
        result = await self.db.execute(
            select(AccountLink).where(AccountLink.digest == digest).with_for_update()
        )
        return result.scalar_one_or_none()

    async def link(self, digest: str) -> AccountLink | None:
        result = await self.db.execute(select(AccountLink).where(AccountLink.digest == digest))
        return result.scalar_one_or_none()

    async def has_recent_link(self, *, account_id: int, purpose: str, since: datetime) -> bool:
        found = await self.db.scalar(
            select(AccountLink.id)
            .where(
                AccountLink.account_id == account_id,
                AccountLink.purpose == purpose,
                AccountLink.created_at > since,
            )
            .limit(1)
        )
        return found is not None

    async def use_links(self, *, account_id: int, purpose: str, now: datetime) -> None:
        """Mark every unused link of the purpose used (a newer one replaces them)."""
        await self.db.execute(
            update(AccountLink)
            .where(
                AccountLink.account_id == account_id,
                AccountLink.purpose == purpose,
                AccountLink.used_at.is_(None),
            )
            .values(used_at=now)
        )
