"""Demo data, loaded idempotently, with every credential written to `demo.json`."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.api.docs import OAUTH2_REDIRECT
from app.container import Container, build_container
from app.domain.accounts import services as accounts
from app.domain.accounts.model import Account
from app.domain.audit.model import Actor, ActorType, Surface
from app.domain.authz import apps as app_services
from app.domain.authz.model import AppStatus
from app.domain.authz.scopes import Scope
from app.domain.authz.tokens import CLIENT_SECRET_PREFIX, hash_secret, new_secret, secret_matches
from app.domain.catalog import product_lifecycle, product_services
from app.domain.catalog.products import Condition, ProductStatus
from app.domain.pagination import MAX_LIMIT, PageRequest
from app.domain.shops import members as member_services
from app.domain.shops import services as shop_services
from app.domain.shops.model import Shop, ShopStatus, SubjectType
from app.domain.shops.permissions import Role
from app.domain.shops.ports import ShopsUnitOfWork
from app.domain.shops.validation import id_check_char, uscc_check_char
from app.settings import Settings

DEMO_ACCOUNTS = {
    "operator": ("operator", "Platform Operator"),
    "merchant": ("merchant", "Li Wei (merchant)"),
    "admin": ("shop.admin", "Chen Jing (admin)"),
    "shop_operator": ("shop.operator", "Zhao Lei (operator)"),
    "customer_service": ("shop.cs", "Sun Li (customer service)"),
    "finance": ("shop.finance", "Zhou Min (finance)"),
    "buyer": ("buyer", "Wang Fang (buyer)"),
    "developer": ("developer", "Liu Yang (developer)"),
}
MEMBER_ROLES = {
    "admin": Role.ADMIN,
    "shop_operator": Role.OPERATOR,
    "customer_service": Role.CUSTOMER_SERVICE,
    "finance": Role.FINANCE,
}
PERSONAL_SHOP = "Li's Corner Store"
ENTERPRISE_SHOP = "Mountain Tea House"
DEMO_LICENCE = "91350100M000100Y4" + uscc_check_char("91350100M000100Y4")
DEMO_ID_NUMBER = "11010519491231002" + id_check_char("11010519491231002")


def _password() -> str:
    return "demo-" + secrets.token_urlsafe(12)


def _actor(account: Account, surface: Surface = Surface.MERCHANT) -> Actor:
    return Actor(type=ActorType.ACCOUNT, id=account.id, surface=surface, request_id="seed-demo")


def system_actor(command: str) -> Actor:
    """Changes made by a maintenance command, not by a person through the API."""
    return Actor(
        type=ActorType.SYSTEM, id=f"system_{command}", surface=Surface.SYSTEM, request_id=command
    )


async def _ensure_account(
    c: Container,
    username: str,
    display: str,
    password: str,
    *,
    operator: bool = False,
    actor: Actor,
) -> Account:
    async with c.uow() as uow:
        account = await uow.accounts.get_by_username(username)
        if account is None:
            account = await accounts.register(
                uow,
                c.hasher,
                username=username,
                password=password,
                display_name=display,
                is_operator=operator,
                registered_by=actor,
            )
        elif not await c.hasher.verify(account.password_hash, password):
            account.password_hash = await c.hasher.hash(password)
        if operator:
            accounts.grant_operator(uow, actor, account)
        await uow.commit()
        return account


async def ensure_operator(settings: Settings, username: str, password: str) -> str:
    c = build_container(settings)
    try:
        account = await _ensure_account(
            c, username, username, password, operator=True, actor=system_actor("create_operator")
        )
        return account.id
    finally:
        await c.close()


async def _demo_shop(
    uow: ShopsUnitOfWork, merchant_id: str, kind: SubjectType, known_id: str | None
) -> Shop | None:
    """The demo shop of this kind: the one demo.json names, else the merchant's own.

    Never by name: the merchant may rename a demo shop, and opening a second one would then
    run into the shop limit.
    """
    if known_id:
        shop = await uow.shops.get(known_id)
        member = await uow.members.get(known_id, merchant_id) if shop else None
        if shop and member and member.role is Role.OWNER and shop.subject_type is kind:
            return shop
    page = await uow.shops.list_for_account(merchant_id, PageRequest(MAX_LIMIT))
    owned = [s for s, m in page.items if m.role is Role.OWNER and s.subject_type is kind]
    return owned[0] if owned else None


async def seed(settings: Settings) -> Path:
    path = settings.var_dir / "demo.json"
    previous: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    c = build_container(settings)
    try:
        out: dict[str, Any] = {}
        accts: dict[str, Account] = {}
        for key, (username, display) in DEMO_ACCOUNTS.items():
            password = (previous.get(key) or {}).get("password") or _password()
            accts[key] = await _ensure_account(
                c,
                username,
                display,
                password,
                operator=key == "operator",
                actor=system_actor("seed_demo"),
            )
            out[key] = {"username": username, "password": password, "account_id": accts[key].id}

        merchant = accts["merchant"]
        shops: dict[str, str] = {}
        names: dict[str, str] = {}
        async with c.uow() as uow:
            for name, kind in (
                (PERSONAL_SHOP, SubjectType.PERSONAL),
                (ENTERPRISE_SHOP, SubjectType.ENTERPRISE),
            ):
                known_id = ((previous.get("shops") or {}).get(kind.value) or {}).get("id")
                shop = await _demo_shop(uow, merchant.id, kind, known_id)
                if shop is None:
                    shop, _ = await shop_services.open_shop(
                        uow, _actor(merchant), name=name, subject_type=kind
                    )
                shops[kind.value], names[kind.value] = shop.id, shop.name
            await uow.commit()

        enterprise_id = shops[SubjectType.ENTERPRISE.value]
        async with c.uow() as uow:
            shop = await uow.shops.get(enterprise_id)
            assert shop is not None
            if shop.status in (ShopStatus.PENDING_QUALIFICATION, ShopStatus.REJECTED):
                await shop_services.submit_qualification(
                    uow,
                    c.cipher,
                    _actor(merchant),
                    enterprise_id,
                    shop_services.QualificationInput(
                        licence_number=DEMO_LICENCE,
                        registered_name="Fuzhou Mountain Tea Co., Ltd.",
                        licence_image_url="https://cdn.example.com/demo/licence.jpg",
                        operator_name="Li Wei",
                        operator_id_number=DEMO_ID_NUMBER,
                        bank_account_name="Fuzhou Mountain Tea Co., Ltd.",
                        bank_name="China Merchants Bank Fuzhou Branch",
                        bank_account_number="6225880137004321",
                    ),
                )
            if shop.status is ShopStatus.IN_REVIEW:
                await shop_services.operator_action(
                    uow, _actor(accts["operator"], Surface.PLATFORM), enterprise_id, "approve"
                )
            for key, role in MEMBER_ROLES.items():
                for shop_id in shops.values():
                    if await uow.members.get(shop_id, accts[key].id) is None:
                        await member_services.add_member(
                            uow,
                            _actor(merchant),
                            shop_id,
                            username=accts[key].username,
                            role=role,
                        )
            await uow.commit()

        out["shops"] = {
            "personal": {"id": shops["personal"], "name": names["personal"]},
            "enterprise": {"id": shops["enterprise"], "name": names["enterprise"]},
        }
        out["members"] = {k: out.pop(k) for k in list(MEMBER_ROLES)}
        out["products"] = await _ensure_demo_products(
            c, shops[SubjectType.PERSONAL.value], _actor(accts["operator"], Surface.PLATFORM)
        )
        out["app"] = await _ensure_demo_app(c, accts["developer"], previous.get("app") or {})
        out["base_url"] = settings.public_base_url
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, indent=2) + "\n")
        path.chmod(0o600)
        return path
    finally:
        await c.close()


DEMO_APP = "Demo ERP Connector"
DEMO_REDIRECT = "http://127.0.0.1:8765/callback"
LOOPBACK_NAMES = ("127.0.0.1", "localhost")


def docs_redirect_uris(base_url: str) -> list[str]:
    """Swagger UI's redirect page at the public base URL; on loopback under both names, since
    a browser may open the docs at either and Swagger redirects to the origin it was loaded
    from."""
    parts = urlsplit(base_url)
    bases = [base_url]
    if parts.hostname in LOOPBACK_NAMES:
        port = f":{parts.port}" if parts.port else ""
        bases += [f"{parts.scheme}://{name}{port}{parts.path}" for name in LOOPBACK_NAMES]
    return list(dict.fromkeys(f"{b}{OAUTH2_REDIRECT}" for b in bases))


async def _ensure_demo_app(
    c: Container, developer: Account, previous: dict[str, Any]
) -> dict[str, Any]:
    """The developer's published app, all scopes, redirect URIs on loopback and the docs."""
    redirects = [DEMO_REDIRECT, *docs_redirect_uris(c.settings.public_base_url)]
    actor = _actor(developer, Surface.DEVELOPER)
    async with c.uow() as uow:
        page = await uow.apps.list_for_developer(developer.id, PageRequest(100))
        app = next((a for a in page.items if a.name == DEMO_APP), None)
        secret = previous.get("client_secret")
        if app is None:
            app, secret = await app_services.register_app(
                uow,
                actor,
                app_services.AppFields(
                    name=DEMO_APP,
                    description="Syncs products and orders with an ERP; the demo provider app.",
                    logo_url=None,
                    homepage_url="https://erp.example.com",
                    install_url=None,
                    support_email="support@erp.example.com",
                    service_types=["batch_product", "batch_order", "cross_platform_product"],
                    redirect_uris=redirects,
                    scopes=list(Scope),
                ),
            )
        elif not secret or not secret_matches(secret, [app.secret_hash]):
            secret = new_secret(CLIENT_SECRET_PREFIX)
            app.secret_hash = hash_secret(secret)
        missing = [r for r in redirects if r not in app.redirect_uris]
        if missing:
            app.redirect_uris = [*app.redirect_uris, *missing]
        if app.status is AppStatus.DRAFT:
            app.publish()
        await uow.commit()
        return {
            "app_id": app.id,
            "name": app.name,
            "client_id": app.client_id,
            "client_secret": secret,
            "redirect_uri": DEMO_REDIRECT,
            "redirect_uris": list(app.redirect_uris),
            "scopes": list(app.scopes),
        }


SYSTEM_ACTOR = Actor(
    type=ActorType.SYSTEM, id="system:seed-demo", surface=Surface.SYSTEM, request_id="seed-demo"
)
_IMG = "https://cdn.example.com/demo"
#: out_product_id → (title, leaf open to personal shops, condition, [(sale_attrs, fen, stock)])
DEMO_PRODUCTS: dict[str, tuple[str, str, Condition, list[tuple[dict[str, str], int, int]]]] = {
    "demo-1": (
        "Linen summer dress",
        "cat_apparel_women_dresses",
        Condition.NEW,
        [
            ({"colour": "white", "size": "M"}, 19900, 12),
            ({"colour": "white", "size": "L"}, 19900, 8),
        ],
    ),
    "demo-2": (
        "Cotton bath towel set",
        "cat_home_textiles_towels",
        Condition.NEW,
        [({"colour": "grey"}, 5900, 40), ({"colour": "blue"}, 5900, 25)],
    ),
    "demo-3": (
        "Dot-grid notebook A5",
        "cat_books_stationery_notebooks",
        Condition.NEW,
        [({}, 1890, 100)],
    ),
    "demo-4": (
        "Succulent trio in ceramic pots",
        "cat_flowers_plants_succulents",
        Condition.NEW,
        [({"pot": "white"}, 3900, 15)],
    ),
    "demo-5": (
        "Second-hand classic novels, box of 5",
        "cat_secondhand_books_general",
        Condition.SECOND_HAND,
        [({}, 4500, 3)],
    ),
}


async def _ensure_demo_products(c: Container, shop_id: str, operator: Actor) -> list[str]:
    """A few listed products in the personal shop, found again by out_product_id."""
    ids = []
    for out_id, (title, category, condition, skus) in DEMO_PRODUCTS.items():
        async with c.uow() as uow:
            shop = await shop_services.shop_or_404(uow, shop_id)
            product = await uow.products.get_by_out_id(shop_id, out_id)
            if product is None:
                product, _ = await product_services.create(
                    uow,
                    SYSTEM_ACTOR,
                    shop,
                    product_services.ProductFields(
                        title=title,
                        category_id=category,
                        subtitle="A demo product",
                        description=[{"type": "text", "text": f"{title}, from the demo seed."}],
                        images=[f"{_IMG}/{out_id}.jpg"],
                        condition=condition,
                        out_product_id=out_id,
                    ),
                    [
                        product_services.SkuFields(sale_attrs=attrs, price=price, stock=stock)
                        for attrs, price, stock in skus
                    ],
                )
            if product.status in (ProductStatus.DRAFT, ProductStatus.REJECTED):
                await product_lifecycle.submit(
                    uow, SYSTEM_ACTOR, shop, product.id, auto_approve=False
                )
            if product.status is ProductStatus.IN_REVIEW:
                await product_lifecycle.review(uow, operator, product.id, "approve")
            if product.status in (ProductStatus.APPROVED, ProductStatus.DELISTED):
                await product_lifecycle.list_for_sale(uow, SYSTEM_ACTOR, shop, product.id)
            await uow.commit()
            ids.append(product.id)
    return ids
