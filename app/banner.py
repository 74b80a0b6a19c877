"""Prints where the running service is and the demo credentials (used by `make run`)."""

from __future__ import annotations

import argparse
import json

from app.settings import get_settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    port = parser.parse_args().port
    settings = get_settings()
    base = f"http://127.0.0.1:{port}"
    demo_path = settings.var_dir / "demo.json"
    lines = [
        "",
        "MiniShop Open Platform",
        f"  API docs (Swagger UI): {base}/docs",
        f"  ReDoc:                 {base}/redoc",
        f"  OpenAPI document:      {base}/openapi.json",
        f"  Merchant login page:   {base}/login",
        f"  Health / metrics:      {base}/healthz  {base}/metrics",
        f"  Demo credentials ({demo_path}):",
    ]
    if demo_path.exists():
        demo = json.loads(demo_path.read_text())
        people = {k: v for k, v in demo.items() if isinstance(v, dict) and "password" in v}
        people.update(demo.get("members") or {})
        for role, cred in people.items():
            lines.append(f"    {role:<17} {cred['username']:<14} {cred['password']}")
        for kind, shop in (demo.get("shops") or {}).items():
            lines.append(f"    {kind} shop: {shop['id']} ({shop['name']})")
        if app := demo.get("app"):
            lines += [
                f"  Demo provider app ({app['name']}), for /docs → Authorize:",
                f"    client_id      {app['client_id']}",
                f"    client_secret  {app['client_secret']}",
                f"    redirect URIs  {' '.join(app['redirect_uris'])}",
            ]
    print("\n".join(lines) + "\n", flush=True)


if __name__ == "__main__":
    main()
