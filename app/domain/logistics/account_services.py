"""Use cases of a shop's carrier accounts: bind (verified by the carrier first), read,
unbind. The secret leaves this module only encrypted, or masked."""

from __future__ import annotations

from app.domain.audit.model import Actor, AuditEntry
from app.domain.clock import utcnow
from app.domain.errors import IntegrityConflict
from app.domain.logistics.accounts import LogisticsAccount, mask, tail
from app.domain.logistics.carrier import CarrierCredentials
from app.domain.logistics.errors import (
    LogisticsAccountExists,
    LogisticsAccountNotFound,
    LogisticsAccountRefused,
)
from app.domain.logistics.ports import LogisticsUnitOfWork
from app.domain.orders.carriers import carrier
from app.domain.pagination import Page, PageRequest
from app.domain.ports import Cipher


def _exists(carrier_code: str, customer_code: str) -> LogisticsAccountExists:
    return LogisticsAccountExists(
        f"The shop already bound the {carrier_code} account {customer_code}; unbind it "
        "first to bind it with other credentials.",
        extra={"carrier": carrier_code, "customer_code": customer_code},
    )


async def bind_account(
    uow: LogisticsUnitOfWork,
    cipher: Cipher,
    actor: Actor,
    shop_id: str,
    *,
    carrier_code: str,
    customer_code: str,
    key: str,
    secret: str,
) -> LogisticsAccount:
    """Bind a carrier account for the shop once the carrier accepts its credentials."""
    carrier(carrier_code)
    adapter = uow.carriers.get(carrier_code)
    if await uow.logistics_accounts.find(shop_id, carrier_code, customer_code) is not None:
        raise _exists(carrier_code, customer_code)
    credentials = CarrierCredentials(shop_id, carrier_code, customer_code, key, secret)
    verdict = await adapter.verify_account(credentials)
    if not verdict.ok:
        raise LogisticsAccountRefused(
            f"{carrier_code} refused the credentials: {verdict.reason}",
            errors=[{"loc": ["body", "secret"], "msg": verdict.reason, "type": "credentials"}],
            extra={"carrier": carrier_code, "reason": verdict.reason},
        )
    account = LogisticsAccount(
        shop_id=shop_id,
        carrier_code=carrier_code,
        customer_code=customer_code,
        key_encrypted=cipher.encrypt(key),
        key_tail=tail(key),
        secret_encrypted=cipher.encrypt(secret),
        secret_tail=tail(secret),
        verified_at=utcnow(),
    )
    uow.logistics_accounts.add(account)
    uow.audit.add(_audit(actor, "logistics_account.bind", account, after=True))
    try:
        await uow.flush()
    except IntegrityConflict as e:
        # A concurrent binding of the same account got there first.
        raise _exists(carrier_code, customer_code) from e
    return account


async def list_accounts(
    uow: LogisticsUnitOfWork, shop_id: str, page: PageRequest
) -> Page[LogisticsAccount]:
    return await uow.logistics_accounts.list_page(shop_id, page)


async def get_account(uow: LogisticsUnitOfWork, shop_id: str, account_id: str) -> LogisticsAccount:
    account = await uow.logistics_accounts.get(shop_id, account_id)
    if account is None:
        raise LogisticsAccountNotFound(f"No logistics account {account_id}.")
    return account


async def unbind_account(
    uow: LogisticsUnitOfWork, actor: Actor, shop_id: str, account_id: str
) -> None:
    account = await get_account(uow, shop_id, account_id)
    await uow.logistics_accounts.delete(account)
    uow.audit.add(_audit(actor, "logistics_account.unbind", account, after=False))
    await uow.flush()


def credentials(cipher: Cipher, account: LogisticsAccount) -> CarrierCredentials:
    """The account's credentials in plain text, for one call to its carrier."""
    return CarrierCredentials(
        shop_id=account.shop_id,
        carrier_code=account.carrier_code,
        customer_code=account.customer_code,
        key=cipher.decrypt(account.key_encrypted),
        secret=cipher.decrypt(account.secret_encrypted),
    )


def _audit(actor: Actor, action: str, account: LogisticsAccount, *, after: bool) -> AuditEntry:
    summary = {
        "carrier": account.carrier_code,
        "customer_code": account.customer_code,
        "secret": mask(account.secret_tail),
    }
    return AuditEntry.about(
        actor,
        action,
        "logistics_account",
        account,
        before=None if after else summary,
        after=summary if after else None,
    )
