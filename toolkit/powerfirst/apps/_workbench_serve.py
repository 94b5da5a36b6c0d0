"""Serving the workbench safely: password checks, the landing page, websocket origins, limits.

* :func:`hash_password` / :func:`verify_password` — salted PBKDF2-HMAC-SHA256 with 600,000
  iterations (the work factor OWASP's Password Storage Cheat Sheet gives for PBKDF2), compared in
  constant time (:func:`hmac.compare_digest`);
* :func:`read_credentials` — the passwords of ``--basic-auth``: a file (``user:secret`` per line,
  or one shared password) or an environment variable (``env:NAME``); plain secrets are hashed when
  read, so only hashes stay in memory;
* :func:`auth_provider` — Panel's basic-auth provider (its login and logout pages) with the login
  checked against those hashes instead of Panel's plain comparison;
* :func:`landing_page` — the page at ``/``: it forwards to the workbench and lists every app;
* :func:`websocket_origins` — the origins a browser page may open a session from: the served host
  only, unless more are named.

References
----------
OWASP Cheat Sheet Series, *Password Storage Cheat Sheet* (PBKDF2-HMAC-SHA256: 600,000 iterations).
https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets
import socket
import tempfile
from pathlib import Path

__all__ = ["PBKDF2_ITERATIONS", "hash_password", "verify_password", "read_credentials", "auth_provider",
           "landing_page", "websocket_origins", "read_secret", "upload_message_cap"]

PBKDF2_ITERATIONS = 600_000
_SCHEME = "pbkdf2_sha256"
#: the key of a password that any user name may log in with (a one-line password file)
ANY_USER = None


def hash_password(password: str, *, iterations: int = PBKDF2_ITERATIONS, salt: bytes | None = None) -> str:
    """``pbkdf2_sha256$<iterations>$<salt>$<hash>`` (salt and hash base64) of ``password``."""
    if not isinstance(password, str) or not password:
        raise ValueError("expected a non-empty password")
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, int(iterations))
    b64 = base64.b64encode
    return f"{_SCHEME}${int(iterations)}${b64(salt).decode()}${b64(digest).decode()}"


def _parse_hash(encoded: str) -> tuple[int, bytes, bytes] | None:
    parts = encoded.split("$")
    if len(parts) != 4 or parts[0] != _SCHEME:
        return None
    try:
        return int(parts[1]), base64.b64decode(parts[2], validate=True), base64.b64decode(parts[3], validate=True)
    except (ValueError, TypeError):
        return None


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` hashes to ``encoded`` (constant-time comparison of the digests)."""
    parsed = _parse_hash(encoded)
    if parsed is None:
        return False
    iterations, salt, digest = parsed
    trial = hashlib.pbkdf2_hmac("sha256", str(password).encode("utf-8"), salt, iterations)
    return hmac.compare_digest(trial, digest)


def _secret_entry(secret: str, where: str) -> str:
    secret = secret.strip()
    if not secret:
        raise ValueError(f"{where}: empty password")
    if secret.startswith(_SCHEME + "$"):
        if _parse_hash(secret) is None:
            raise ValueError(f"{where}: malformed {_SCHEME} hash; expected {_SCHEME}$<iterations>$<salt>$<hash> "
                             "(make one with `powerfirst serve --hash-password`)")
        return secret
    return hash_password(secret)


def read_secret(source: str, what: str) -> str:
    """The text of ``source``: ``env:NAME`` reads environment variable NAME, anything else is the
    value itself."""
    if source.startswith("env:"):
        name = source[4:]
        value = os.environ.get(name)
        if not value:
            raise ValueError(f"{what}: environment variable {name!r} is not set or empty")
        return value
    return source


def read_credentials(source: str) -> dict[str | None, str]:
    """The password hashes of ``--basic-auth``, by user name (``None``: any user name).

    Parameters
    ----------
    source : str
        ``env:NAME`` — environment variable NAME holds ``password`` or ``user:password``; otherwise
        the path of a file with one ``user:secret`` per line (``#`` starts a comment), or a single
        line holding one password for any user name.  A secret is a password or a hash made by
        :func:`hash_password` (``powerfirst serve --hash-password``).

    Raises
    ------
    ValueError, FileNotFoundError
        No such variable or file, an empty password, a malformed hash, a user listed twice.
    """
    if source.startswith("env:"):
        lines, where = [read_secret(source, "--basic-auth")], f"environment variable {source[4:]}"
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"--basic-auth: password file not found: {path}")
        lines, where = path.read_text(encoding="utf-8").splitlines(), str(path)
    entries = [(i, ln.strip()) for i, ln in enumerate(lines, start=1) if ln.strip() and not ln.strip().startswith("#")]
    if not entries:
        raise ValueError(f"--basic-auth: {where} holds no password")
    out: dict[str | None, str] = {}
    if len(entries) == 1 and ":" not in entries[0][1].split("$")[0]:
        out[ANY_USER] = _secret_entry(entries[0][1], f"{where}, line {entries[0][0]}")
        return out
    for i, ln in entries:
        user, sep, secret = ln.partition(":")
        user = user.strip()
        if not sep or not user:
            raise ValueError(f"--basic-auth: {where}, line {i}: expected user:password (or user:{_SCHEME}$...)")
        if user in out:
            raise ValueError(f"--basic-auth: {where}, line {i}: user {user!r} listed twice")
        out[user] = _secret_entry(secret, f"{where}, line {i}")
    return out


@functools.cache
def _dummy() -> str:
    """A hash no password matches in practice: checked for unknown users, so that a wrong user name
    takes as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))

_LOGIN = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>powerfirst · log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:4rem auto;max-width:22rem}
label,input,button{display:block;width:100%;margin:.4rem 0}input{padding:.4rem}button{padding:.5rem}
.error{color:#a00}</style></head>
<body><h1>powerfirst</h1><p>Log in to the siting workbench.</p>
<form action="{{ login_endpoint|e }}" method="post">
<label for="username">User name</label><input id="username" name="username" type="text" autocomplete="username">
<label for="password">Password</label><input id="password" name="password" type="password"
 autocomplete="current-password"><button id="login-submit" type="submit">Log in</button></form>
{% if errormessage %}<p class="error" id="error-message">{{ errormessage|e }}</p>{% endif %}
</body></html>
"""


def auth_provider(credentials: dict[str | None, str]):
    """Panel's :class:`~panel.auth.BasicAuthProvider` whose login compares password hashes.

    The provider keeps Panel's login flow (``/login``, ``/logout``, a signed ``user`` cookie made
    with the cookie secret); its login page is served from this package, with no outside host."""
    from panel.auth import BasicAuthProvider, BasicLoginHandler

    creds = dict(credentials)

    class HashedLoginHandler(BasicLoginHandler):
        def _validate(self, username, password):
            encoded = creds.get(username, creds.get(ANY_USER))
            ok = verify_password(password or "", encoded if encoded is not None else _dummy())
            return bool(ok and encoded is not None)

    class HashedBasicAuthProvider(BasicAuthProvider):
        @property
        def login_handler(self):
            HashedLoginHandler._login_endpoint = self._login_endpoint
            HashedLoginHandler._login_template = self._login_template
            return HashedLoginHandler

    folder = Path(tempfile.mkdtemp(prefix="powerfirst-serve-"))
    login = folder / "login.html"
    login.write_text(_LOGIN, encoding="utf-8")
    return HashedBasicAuthProvider(login_template=str(login))


_INDEX = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>powerfirst</title>
<meta http-equiv="refresh" content="0; url=./workbench">
<style>body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:3rem}</style></head>
<body><h1>powerfirst</h1>
<p>Opening the <a href="./workbench">siting workbench</a>&hellip;</p>
<p>The single-model dashboards:</p><ul>
{% for slug, title in items %}{% if slug != "/workbench" %}<li><a href=".{{ slug }}">{{ title }}</a></li>{% end %}{% end %}
</ul></body></html>
"""


def landing_page() -> str:
    """Path of the page served at ``/`` (a Tornado template): it forwards to ``./workbench`` and lists
    every app as ``<a href="./name">``."""
    folder = Path(tempfile.mkdtemp(prefix="powerfirst-index-"))
    path = folder / "index.html"
    path.write_text(_INDEX, encoding="utf-8")
    return str(path)


_LOOPBACK = ("localhost", "127.0.0.1", "::1")
_ALL = ("0.0.0.0", "::", "")


def websocket_origins(address: str, port: int, extra: list[str] | None = None) -> list[str]:
    """Origins (``host[:port]``) allowed to open a session: the served host — the address itself,
    and for a wildcard address (``0.0.0.0``) this machine's host name and fully qualified name — at
    the served port, plus ``extra``.  ``localhost`` and ``127.0.0.1`` are always allowed (the
    server's own machine)."""
    hosts = []
    if address in _ALL:
        hosts += [socket.gethostname(), socket.getfqdn()]
    elif address not in _LOOPBACK:
        hosts.append(address)
    suffix = f":{port}" if port else ""
    out = [f"{h}{suffix}" for h in dict.fromkeys(h for h in hosts if h)]
    return out + list(extra or [])


def upload_message_cap(max_upload_bytes: int) -> int:
    """Largest websocket message the server accepts [byte]: twice the base64 size of the upload
    limit plus 1 MiB, so an upload somewhat over the limit still arrives and is refused with a
    message, and nothing far larger is ever buffered (Tornado closes such a connection)."""
    return int(2 * (4 * max_upload_bytes / 3) + 2**20)
