"""Render deploy/*.in (nginx, gunicorn, Redis, systemd units) from the Django settings.

Why through the settings: the web server must agree with the app on the body limit, the
static and media roots, the session and pin cookies, the ports and TLS files; reading them
from `django.conf.settings` means one source (the environment, read by settings/base.py)
and the same validation and error messages.

    python -m geocity.deployconf --out DIR [--redis-port N] [--service-user USER]

`make serve` (geocity/stack.py) calls it with DJANGO_SETTINGS_MODULE=geocity.settings.production.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "deploy"
PLACEHOLDER = re.compile(r"@@([A-Z_]+)@@")
REDIS_MAXMEMORY_MB = 512


def render_text(template: str, values: dict[str, str]) -> str:
    """Fill @@NAME@@ placeholders; an unknown one is an error (a template out of step)."""
    missing = sorted({m for m in PLACEHOLDER.findall(template) if m not in values})
    if missing:
        raise KeyError(f"no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def web_workers(configured: int) -> int:
    return configured if configured > 0 else 2 * (os.cpu_count() or 1) + 1


def values(*, var: Path, out: Path, redis_port: int, service_user: str) -> dict[str, str]:
    from django.conf import settings

    from .dbrouter import PIN_COOKIE

    run, log = var / "run", var / "log"
    if settings.SERVE_TLS:
        cert = settings.TLS_CERT_FILE or str(var / "tls" / "selfsigned.crt")
        key = settings.TLS_KEY_FILE or str(var / "tls" / "selfsigned.key")
        listen = f"{settings.SERVE_HOST}:{settings.SERVE_PORT} ssl http2"
        tls = (f"        ssl_certificate {cert};\n"
               f"        ssl_certificate_key {key};\n"
               "        ssl_protocols TLSv1.2 TLSv1.3;\n"
               "        ssl_session_cache shared:geocity_tls:10m;\n"
               "        ssl_session_timeout 1d;\n")
        redirect = ("    server {  # plain HTTP: to HTTPS\n"
                    f"        listen {settings.SERVE_HOST}:{settings.SERVE_HTTP_PORT};\n"
                    "        server_name _;\n"
                    f"        return 301 https://$host:{settings.SERVE_PORT}$request_uri;\n"
                    "    }\n")
        forwarded = "$scheme"  # nginx is the edge: a client's X-Forwarded-Proto is ignored
    else:  # behind a load balancer that ends TLS and says so in X-Forwarded-Proto
        listen, tls, redirect = f"{settings.SERVE_HOST}:{settings.SERVE_PORT}", "", ""
        forwarded = "$http_x_forwarded_proto"
    hosts = [h for h in settings.ALLOWED_HOSTS if h != "*" and not h.startswith(".")]
    return {
        "ROOT": str(ROOT),
        "RUN": str(run),
        "LOG": str(log),
        "DEPLOY": str(out),
        "NGINX": str(var / "nginx"),
        "CACHE": str(var / "cache" / "nginx"),
        "API_CACHE": str(var / "cache" / "nginx-api"),
        "USER": "user www-data;" if os.geteuid() == 0 else "# (not root: workers run as you)",
        "MAX_BODY": str(settings.MAX_REQUEST_BODY_BYTES),
        "TILE_CACHE_MB": str(settings.TILE_PROXY_CACHE_MB),
        "SESSION_COOKIE": re.escape(settings.SESSION_COOKIE_NAME),
        "PIN_COOKIE": re.escape(PIN_COOKIE),
        "FORWARDED_PROTO": forwarded,
        "REDIRECT_SERVER": redirect,
        "LISTEN": listen,
        "TLS": tls,
        "STATIC_ROOT": str(settings.STATIC_ROOT),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "HEALTH_HOST": hosts[0] if hosts else "localhost",
        "WORKERS": str(web_workers(settings.WEB_WORKERS)),
        "REDIS_PORT": str(redis_port),
        "REDIS_DIR": str(var / "redis"),
        "REDIS_MAXMEMORY_MB": str(REDIS_MAXMEMORY_MB),
        "SERVICE_USER": service_user,
    }


def render_all(*, var: Path, out: Path, redis_port: int, service_user: str) -> list[Path]:
    filled = values(var=var, out=out, redis_port=redis_port, service_user=service_user)
    written = []
    for template in sorted(TEMPLATES.rglob("*.in")):
        target = out / template.relative_to(TEMPLATES).with_suffix("")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            text = render_text(template.read_text(encoding="utf-8"), filled)
        except KeyError as exc:
            raise SystemExit(f"*** {template}: {exc.args[0]}") from exc
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m geocity.deployconf", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--var", type=Path, default=Path(os.environ.get("GEOCITY_VAR") or
                                                          ROOT / "var"))
    parser.add_argument("--out", type=Path, help="default: VAR/deploy")
    parser.add_argument("--redis-port", type=int, default=6380)
    parser.add_argument("--service-user", default="geocity",
                        help="the user of the systemd units (default: geocity)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geocity.settings.production")
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as exc:
        print(f"*** Configuration error: {exc}", file=sys.stderr)
        return 2
    var = args.var.resolve()
    out = (args.out or var / "deploy").resolve()
    for path in render_all(var=var, out=out, redis_port=args.redis_port,
                           service_user=args.service_user):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
