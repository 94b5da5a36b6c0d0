"""Data and serving commands: ``validate``, ``build-cube``, ``serve`` and ``demo``."""

from __future__ import annotations

import argparse
from pathlib import Path

from powerfirst.commands import _eprint, command

# ---------------------------------------------------------------------------
# validate


def _cfg_validate(p: argparse.ArgumentParser):
    p.add_argument("file", help="site list (.csv, .geojson, .parquet), facts table (.csv with a 'quantity' "
                                "column), or cube (.zarr, .nc)")
    p.add_argument("--kind", choices=["auto", "sites", "facts", "grid", "energy", "weather"], default="auto",
                   help="what the file holds (default: detect)")


@command("validate", "check a site file, facts table or cube; one line per problem, exit 1 if any", _cfg_validate)
def cmd_validate(args) -> int:
    from powerfirst.errors import DataFormatError, Problem, ValidationError

    path = Path(args.file)
    kind = args.kind
    if kind == "auto":
        name = path.name.lower()
        if name.endswith((".zarr", ".nc", ".zarr/")) or path.is_dir():
            kind = "cube"
        elif name.endswith(".csv") and path.is_file():
            with open(path, encoding="utf-8-sig") as f:
                header = f.readline()
            kind = "facts" if "quantity" in header.split(",") else "sites"
        else:
            kind = "sites"
    problems: list[Problem] = []
    try:
        if kind == "sites":
            from powerfirst.io.sites import check_sites_file

            problems = check_sites_file(path)
        elif kind == "facts":
            from powerfirst.io.facts import read_facts

            read_facts(path)
        else:
            from powerfirst.io.store import read_netcdf, read_zarr
            from powerfirst.schema import check

            ds = read_netcdf(path) if path.suffix == ".nc" else read_zarr(path)
            problems = check(ds, None if kind == "cube" else kind, values=True)
    except ValidationError as exc:
        problems = exc.problems
    except (DataFormatError, FileNotFoundError, OSError) as exc:
        problems = [Problem(str(exc), file=str(path))]
    for p in problems:
        print(p if p.file else f"{path}: {p}")
    if problems:
        _eprint(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found in {path}")
        return 1
    _eprint(f"{path}: no problems found ({kind})")
    return 0


# ---------------------------------------------------------------------------
# build-cube


def _cfg_build(p: argparse.ArgumentParser):
    p.add_argument("--sites", required=True, help="site file (.csv, .geojson, .parquet) or 'demo'")
    p.add_argument("--out", required=True, help="output store (.zarr, or .nc to export NetCDF)")
    p.add_argument("--weather", nargs="*", default=None,
                   help="typical-year weather files (EPW, TMY2, TMY3, NetCDF); default: the files pvlib ships")
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler address (default $POWERFIRST_SCHEDULER, else in-process threads)")
    p.add_argument("--chunk-sites", type=int, default=32, help="sites per Dask chunk (default 32)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing store written by powerfirst")


@command("build-cube", "build the energy cube (site x hourly typical year) for a site list", _cfg_build)
def cmd_build_cube(args) -> int:
    from powerfirst.cubes.default import build_energy_store

    out = build_energy_store(args.sites, args.out, weather=args.weather, scheduler=args.scheduler,
                             chunk_sites=args.chunk_sites, overwrite=args.overwrite)
    print(out)
    return 0


# ---------------------------------------------------------------------------
# serve / demo


def _cfg_serve(p: argparse.ArgumentParser):
    p.add_argument("--port", type=int, default=5006, help="port (default 5006; 0 picks a free one)")
    p.add_argument("--address", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 serves every network "
                        "interface and warns unless --basic-auth or --oauth-provider is set)")
    p.add_argument("--allow-websocket-origin", action="append", default=None,
                   help="another origin (host[:port]) a browser may open sessions from; default: the served host only")
    p.add_argument("--show", action="store_true", help="open a browser")
    p.add_argument("--num-procs", type=int, default=1,
                   help="server processes sharing the port (fork; 0 = one per CPU; default 1)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads per process that build sessions and run callbacks (default: Panel's, none)")
    p.add_argument("--sites", default=None, help="site file (.csv, .geojson, .parquet) every workbench session starts with")
    p.add_argument("--scenario", default=None, help="scenario YAML every workbench session starts from")
    p.add_argument("--max-upload-mb", type=float, default=5.0,
                   help="largest site or scenario upload [MB] (default 5)")
    p.add_argument("--basic-auth", default=None, metavar="FILE|env:NAME",
                   help="require a log-in: a password file (user:password or user:pbkdf2_sha256$... per line, or one "
                        "password for any user) or env:NAME for an environment variable holding the password")
    p.add_argument("--cookie-secret", default=None, metavar="SECRET|env:NAME",
                   help="key that signs the log-in cookie (>= 32 characters; default $POWERFIRST_COOKIE_SECRET, else "
                        "a new random key per start: log-ins then end with a restart)")
    p.add_argument("--hash-password", action="store_true",
                   help="read a password from standard input, print its hash for a --basic-auth file, and exit")
    oa = p.add_argument_group("log-in through an OpenID Connect provider (instead of --basic-auth; see README, "
                              "Deploying)")
    oa.add_argument("--oauth-provider", choices=["generic"], default=None,
                    help="log users in through an OAuth 2 / OpenID Connect provider (Panel's generic provider); "
                         "needs --oauth-key, --oauth-secret, --oauth-encryption-key, --cookie-secret and "
                         "--oidc-issuer (or the endpoint URLs)")
    oa.add_argument("--oauth-key", default=None, metavar="CLIENT_ID", help="client id registered with the provider")
    oa.add_argument("--oauth-secret", default=None, metavar="SECRET|env:NAME",
                    help="client secret registered with the provider (default $POWERFIRST_OAUTH_SECRET)")
    oa.add_argument("--oidc-issuer", default=None, metavar="URL",
                    help="issuer URL; the endpoints are read from URL/.well-known/openid-configuration at start")
    oa.add_argument("--oauth-authorize-url", default=None, metavar="URL",
                    help="authorization endpoint (instead of, or overriding, --oidc-issuer)")
    oa.add_argument("--oauth-token-url", default=None, metavar="URL", help="token endpoint (ditto)")
    oa.add_argument("--oauth-user-url", default=None, metavar="URL",
                    help="userinfo endpoint (ditto; needed when the provider returns no id_token)")
    oa.add_argument("--oauth-redirect-uri", default=None, metavar="URL",
                    help="where the provider sends the browser back, as registered with it: https://HOST/login "
                         "(default: the host of each request)")
    oa.add_argument("--oauth-user-claim", default="email", metavar="CLAIM",
                    help="claim that names the user (default email; e.g. preferred_username, sub)")
    oa.add_argument("--oauth-scope", default=None, metavar="SCOPES",
                    help="scopes asked for, space- or comma-separated (default 'openid email profile')")
    oa.add_argument("--oauth-encryption-key", default=None, metavar="KEY|env:NAME",
                    help="Fernet key (32 bytes, url-safe base64) that encrypts the tokens kept in cookies "
                         "(default $POWERFIRST_OAUTH_ENCRYPTION_KEY)")


def _hash_password() -> int:
    import getpass
    import sys

    from powerfirst.apps._workbench_serve import hash_password

    pw = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")
    print(hash_password(pw))
    return 0


def _cookie_secret(given: str | None) -> str | None:
    import os

    from powerfirst.apps._workbench_serve import read_secret

    if given is None and not os.environ.get("POWERFIRST_COOKIE_SECRET"):
        return None
    secret = read_secret(given or "env:POWERFIRST_COOKIE_SECRET", "--cookie-secret")
    if len(secret) < 32:
        raise ValueError(f"--cookie-secret: expected at least 32 characters, found {len(secret)} "
                         "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    return secret


_OAUTH_OPTIONS = ("oauth_key", "oauth_secret", "oidc_issuer", "oauth_authorize_url", "oauth_token_url",
                  "oauth_user_url", "oauth_redirect_uri", "oauth_scope", "oauth_encryption_key")


def _oauth(args, cookie_secret: str | None):
    """The checked OAuth settings of the serve options (None without --oauth-provider).

    Raises ValueError for options that do not fit together or a value of the wrong form."""
    import os

    from powerfirst.apps._workbench_serve import oauth_settings

    provider = getattr(args, "oauth_provider", None)
    if provider is None:
        stray = [o for o in _OAUTH_OPTIONS if getattr(args, o, None)]
        if getattr(args, "oauth_user_claim", "email") != "email":
            stray.append("oauth_user_claim")
        if stray:
            names = ", ".join("--" + o.replace("_", "-") for o in stray)
            raise ValueError(f"{names} given without --oauth-provider generic")
        return None
    if args.basic_auth:
        raise ValueError("--basic-auth and --oauth-provider are two ways to log in: choose one")
    if cookie_secret is None:
        raise ValueError("--oauth-provider needs --cookie-secret SECRET|env:NAME (or $POWERFIRST_COOKIE_SECRET), at "
                         "least 32 characters: it signs the log-in cookies (e.g. python -c 'import secrets; "
                         "print(secrets.token_urlsafe(32))')")

    def env_default(given, name):
        return given or (f"env:{name}" if os.environ.get(name) else None)

    return oauth_settings(key=args.oauth_key, secret=env_default(args.oauth_secret, "POWERFIRST_OAUTH_SECRET"),
                          issuer=args.oidc_issuer, authorize_url=args.oauth_authorize_url,
                          token_url=args.oauth_token_url, user_url=args.oauth_user_url,
                          redirect_uri=args.oauth_redirect_uri, user_claim=args.oauth_user_claim,
                          scopes=args.oauth_scope,
                          encryption_key=env_default(args.oauth_encryption_key, "POWERFIRST_OAUTH_ENCRYPTION_KEY"))


@command("serve", "serve the siting workbench and the dashboards at http://127.0.0.1:5006", _cfg_serve)
def cmd_serve(args) -> int:
    import logging
    import secrets

    from powerfirst.apps import serve
    from powerfirst.apps._workbench_serve import (
        auth_provider,
        landing_page,
        read_credentials,
        upload_message_cap,
        websocket_origins,
    )
    from powerfirst.apps.workbench import configure

    if getattr(args, "hash_password", False):
        return _hash_password()
    if args.num_procs < 0:
        raise ValueError(f"--num-procs must be >= 0, found {args.num_procs}")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1, found {args.threads}")
    secret = _cookie_secret(args.cookie_secret)
    try:
        oauth = _oauth(args, secret)
    except ValueError as exc:  # options that do not fit: a usage error, as argparse's
        _eprint(f"powerfirst serve: error: {exc}")
        return 2
    configure(sites=args.sites, scenario=args.scenario, max_upload_mb=args.max_upload_mb)
    extra = {"index": landing_page(signed_in=bool(args.basic_auth or oauth)),
             "websocket_max_message_size": upload_message_cap(int(args.max_upload_mb * 1e6))}
    if args.num_procs != 1:
        extra["num_procs"] = args.num_procs
    if args.threads:
        import panel as pn

        pn.config.nthreads = args.threads
    if oauth is not None:
        extra.update(oauth.apply())
        _eprint(f"log-in through {oauth.authorize_url}; the provider must allow the redirect URI "
                f"{oauth.redirect_uri or 'http(s)://<served host>'}")
    if args.basic_auth:
        extra["auth_provider"] = auth_provider(read_credentials(args.basic_auth))
        if secret is None:
            secret = secrets.token_urlsafe(32)
            _eprint("note: no --cookie-secret or $POWERFIRST_COOKIE_SECRET: log-ins last until the server restarts")
    if secret is not None:
        extra["cookie_secret"] = secret
    if args.address not in ("127.0.0.1", "localhost", "::1") and not (args.basic_auth or oauth):
        _eprint(f"warning: serving on {args.address or 'every interface'} without authentication: anyone who can "
                "reach this machine can use the workbench and upload files; set --basic-auth or --oauth-provider "
                "(see README, Deploying)")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    pf_log = logging.getLogger("powerfirst")
    if not pf_log.handlers:
        pf_log.addHandler(handler)
        pf_log.setLevel(logging.INFO)
    origins = websocket_origins(args.address, args.port, args.allow_websocket_origin)
    _eprint(f"serving at {_served_url(args.address, args.port)} (the first page of a session takes a few "
            "seconds; Ctrl+C stops) ...")
    serve(port=args.port, address=args.address, show=args.show, websocket_origin=origins, **extra)
    return 0


def _served_url(address: str, port: int) -> str:
    """The address a browser on this machine opens, as text for the start-up line."""
    host = "127.0.0.1" if address in ("", "0.0.0.0", "::") else address
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}" if port else f"http://{host} on a free port (printed below)"


def _cfg_demo(p: argparse.ArgumentParser):
    _cfg_serve(p)
    p.add_argument("--rebuild", action="store_true", help="rebuild the default cubes even if present")
    p.add_argument("--no-serve", action="store_true", help="only build the default cubes")


@command("demo", "build the default cubes if missing, then serve the dashboards", _cfg_demo)
def cmd_demo(args) -> int:
    from powerfirst.cubes.default import demo_energy_path, ensure_demo_cubes

    path = demo_energy_path()
    if args.rebuild or not path.exists():
        _eprint(f"building the default cubes: the demo sites' energy cube ({path}, under a minute) ...")
    else:
        _eprint(f"checking the default cubes ({path}) ...")
    ensure_demo_cubes(rebuild=args.rebuild)
    _eprint(f"default cubes ready ({path})")
    if args.no_serve:
        return 0
    return cmd_serve(args)
