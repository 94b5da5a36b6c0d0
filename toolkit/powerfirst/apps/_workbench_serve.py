"""Serving the workbench safely: password checks, the landing page, websocket origins, limits.

* :func:`hash_password` / :func:`verify_password` — salted PBKDF2-HMAC-SHA256 with 600,000
  iterations (the work factor OWASP's Password Storage Cheat Sheet gives for PBKDF2), compared in
  constant time (:func:`hmac.compare_digest`);
* :func:`read_credentials` — the passwords of ``--basic-auth``: a file (``user:secret`` per line,
  or one shared password) or an environment variable (``env:NAME``); plain secrets are hashed when
  read, so only hashes stay in memory;
* :func:`auth_provider` — Panel's basic-auth provider (its login and logout pages) with the login
  checked against those hashes instead of Panel's plain comparison;
* :func:`oauth_settings` — the log-in of ``--oauth-provider generic``: an OpenID Connect provider,
  its endpoints read from the issuer's discovery document or given one by one, checked (https,
  except on this machine) and handed to Panel's own OAuth log-in (:meth:`OAuthSettings.apply`);
* :func:`landing_page` — the page at ``/``: it forwards to the workbench and lists every app;
* :func:`websocket_origins` — the origins a browser page may open a session from: the served host
  only, unless more are named.

References
----------
OWASP Cheat Sheet Series, *Password Storage Cheat Sheet* (PBKDF2-HMAC-SHA256: 600,000 iterations).
https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html

OpenID Foundation, *OpenID Connect Discovery 1.0*, section 4 (the ``/.well-known/openid-configuration``
document; its ``issuer`` must be identical to the issuer URL it was read from).
https://openid.net/specs/openid-connect-discovery-1_0.html
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import hmac
import json
import os
import secrets
import socket
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

__all__ = ["PBKDF2_ITERATIONS", "hash_password", "verify_password", "read_credentials", "auth_provider",
           "landing_page", "websocket_origins", "read_secret", "upload_message_cap", "OAuthSettings",
           "oauth_settings", "check_endpoint_url", "discover_oidc", "read_encryption_key"]

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
<!--signed-in-->
<p>Opening the <a href="./workbench">siting workbench</a>&hellip;</p>
<p>The single-model dashboards:</p><ul>
{% for slug, title in items %}{% if slug != "/workbench" %}<li><a href=".{{ slug }}">{{ title }}</a></li>{% end %}{% end %}
</ul></body></html>
"""
# Tornado escapes {{ current_user }} (its templates autoescape by default)
_SIGNED_IN = """{% if current_user %}<p id="signed-in">Signed in as <b>{{ current_user }}</b> &middot;
<a href="./logout">log out</a></p>{% end %}"""


def landing_page(signed_in: bool = False) -> str:
    """Path of the page served at ``/`` (a Tornado template): it forwards to ``./workbench`` and lists
    every app as ``<a href="./name">``; with ``signed_in`` (a log-in is configured) it also names the
    logged-in user (escaped) with a link to ``./logout``."""
    folder = Path(tempfile.mkdtemp(prefix="powerfirst-index-"))
    path = folder / "index.html"
    text = _INDEX.replace("<!--signed-in-->", _SIGNED_IN if signed_in else "")
    path.write_text(text, encoding="utf-8")
    return str(path)


# ------------------------------------------------------------------------------------ OAuth / OpenID Connect

#: hosts a plain-http endpoint may name: this machine (a provider or proxy running beside the server)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
#: the scopes asked for by default: an OpenID Connect log-in with the user's e-mail and profile
DEFAULT_SCOPES = ("openid", "email", "profile")


def check_endpoint_url(url: str, what: str) -> str:
    """``url`` when it is an absolute ``https://`` URL (``http://`` only for 127.0.0.1, localhost or
    ::1); raises :class:`ValueError` naming ``what`` (the option or document field) otherwise."""
    text = str(url).strip()
    try:
        u = urllib.parse.urlsplit(text)
        host = u.hostname
    except ValueError:
        u, host = None, None
    if u is None or u.scheme not in ("http", "https") or not host:
        raise ValueError(f"{what}: expected an absolute https:// URL, found {text!r}")
    if u.username is not None or u.password is not None:
        raise ValueError(f"{what}: the URL must not hold a user name or password, found {u.scheme}://...@{host}")
    if u.scheme == "http" and host not in LOCAL_HOSTS:
        raise ValueError(f"{what}: expected an https:// URL (plain http:// only for 127.0.0.1 or localhost), "
                         f"found {text!r}")
    return text


def discover_oidc(issuer: str, timeout: float = 10.0) -> dict:
    """The endpoints of an OpenID Connect provider, from ``<issuer>/.well-known/openid-configuration``.

    Parameters
    ----------
    issuer : str
        The issuer URL (https, or http on this machine), e.g. ``https://login.example.org/realms/x``.
    timeout : float
        Seconds to wait for the document [s].

    Returns
    -------
    dict
        ``authorize_url``, ``token_url``, ``user_url`` (None when the provider lists no userinfo
        endpoint) and ``logout_url`` (None when it lists no ``end_session_endpoint``).

    Raises
    ------
    ValueError
        The issuer cannot be reached, the document is not JSON, lacks an endpoint, names another
        issuer, or an endpoint is not https.
    """
    issuer = check_endpoint_url(issuer, "--oidc-issuer").rstrip("/")
    url = issuer + "/.well-known/openid-configuration"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/json"}),
                                    timeout=timeout) as r:
            raw = r.read(1_000_000)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ValueError(f"--oidc-issuer: could not read the provider's discovery document {url}: {reason}") from None
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError(f"--oidc-issuer: {url} is not a JSON discovery document") from None
    if not isinstance(doc, dict):
        raise ValueError(f"--oidc-issuer: {url} is not a JSON object")
    missing = [k for k in ("issuer", "authorization_endpoint", "token_endpoint") if not doc.get(k)]
    if missing:
        raise ValueError(f"--oidc-issuer: {url} lacks {', '.join(missing)}")
    if str(doc["issuer"]).rstrip("/") != issuer:
        raise ValueError(f"--oidc-issuer: {url} names issuer {doc['issuer']!r}, expected {issuer!r} "
                         "(OpenID Connect Discovery 1.0, section 4.3)")

    def endpoint(key):
        value = doc.get(key)
        return None if not value else check_endpoint_url(value, f"--oidc-issuer: {key} of {url}")

    return {"authorize_url": endpoint("authorization_endpoint"), "token_url": endpoint("token_endpoint"),
            "user_url": endpoint("userinfo_endpoint"), "logout_url": endpoint("end_session_endpoint")}


def read_encryption_key(source: str) -> bytes:
    """The key that encrypts the OAuth tokens kept in cookies: 32 bytes, url-safe base64 (a Fernet key),
    given as the text itself or ``env:NAME``."""
    text = read_secret(source, "--oauth-encryption-key").strip()
    how = "make one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ValueError(f"--oauth-encryption-key: expected url-safe base64 text, found {len(text)} characters "
                         f"that are not ({how})") from None
    if len(raw) != 32:
        raise ValueError(f"--oauth-encryption-key: expected 32 bytes in url-safe base64 (44 characters), found "
                         f"{len(raw)} bytes ({how})")
    return text.encode("ascii")


@dataclasses.dataclass(frozen=True)
class OAuthSettings:
    """A checked generic OAuth 2 / OpenID Connect log-in, ready for Panel.

    Attributes
    ----------
    key, secret : str
        The client id and client secret registered with the provider.
    authorize_url, token_url : str
        The provider's authorization and token endpoints.
    user_url : str or None
        Its userinfo endpoint (needed when the token response holds no ``id_token``).
    logout_url : str or None
        Its end-of-session endpoint, linked from the logout page.
    redirect_uri : str or None
        Where the provider sends the browser back (``https://HOST/login``); None: the served
        host of each request.
    user_claim : str
        The claim that names the user (``pn.state.user``).
    scopes : tuple of str
        The scopes asked for.
    encryption_key : bytes
        Fernet key that encrypts the tokens kept in the browser's cookies.
    """

    key: str
    secret: str
    authorize_url: str
    token_url: str
    user_url: str | None
    logout_url: str | None
    redirect_uri: str | None
    user_claim: str
    scopes: tuple[str, ...]
    encryption_key: bytes = dataclasses.field(repr=False)

    def __repr__(self) -> str:  # never print the secrets
        return (f"OAuthSettings(key={self.key!r}, authorize_url={self.authorize_url!r}, "
                f"token_url={self.token_url!r}, user_url={self.user_url!r}, redirect_uri={self.redirect_uri!r}, "
                f"user_claim={self.user_claim!r}, scopes={self.scopes!r})")

    def extra_params(self) -> dict:
        """Panel's ``oauth_extra_params`` of its ``generic`` provider."""
        out = {"AUTHORIZE_URL": self.authorize_url, "TOKEN_URL": self.token_url, "USER_KEY": self.user_claim,
               "scope": list(self.scopes)}
        if self.user_url:
            out["USER_URL"] = self.user_url
        if self.logout_url:
            out["LOGOUT_URL"] = self.logout_url
        return out

    def apply(self) -> dict:
        """Turn on the encryption of the tokens (``pn.state.encryption``) and return the keyword
        arguments of :func:`panel.serve` for Panel's ``generic`` OAuth provider."""
        try:
            from cryptography.fernet import Fernet
        except ImportError:
            raise ValueError("--oauth-provider needs the cryptography package (pip install cryptography)") from None
        import panel as pn

        pn.config.oauth_encryption_key = self.encryption_key
        pn.state.encryption = Fernet(self.encryption_key)
        kwargs = {"oauth_provider": "generic", "oauth_key": self.key, "oauth_secret": self.secret,
                  "oauth_extra_params": self.extra_params()}
        if self.redirect_uri:
            kwargs["oauth_redirect_uri"] = self.redirect_uri
        return kwargs


def oauth_settings(*, key: str | None, secret: str | None, issuer: str | None = None,
                   authorize_url: str | None = None, token_url: str | None = None, user_url: str | None = None,
                   redirect_uri: str | None = None, user_claim: str = "email",
                   scopes: str | tuple[str, ...] | None = None, encryption_key: str | None = None,
                   timeout: float = 10.0) -> OAuthSettings:
    """Check the options of a generic OpenID Connect log-in and return them as :class:`OAuthSettings`.

    Parameters
    ----------
    key : str
        Client id (``--oauth-key``).
    secret : str
        Client secret, or ``env:NAME`` (``--oauth-secret``).
    issuer : str, optional
        Issuer URL whose discovery document gives the endpoints (``--oidc-issuer``); or else
    authorize_url, token_url, user_url : str, optional
        The endpoints one by one (``--oauth-authorize-url`` ...); ``user_url`` may be left out when the
        provider returns an ``id_token``.  Given with ``issuer``, they override what it lists.
    redirect_uri : str, optional
        ``https://HOST/login`` as registered with the provider.
    user_claim : str
        Claim naming the user (default ``email``).
    scopes : str or tuple of str, optional
        Space- or comma-separated scopes (default ``openid email profile``).
    encryption_key : str
        Fernet key or ``env:NAME`` (``--oauth-encryption-key``).
    timeout : float
        Seconds to wait for the discovery document [s].

    Raises
    ------
    ValueError
        A missing option, an endpoint that is not https (except on this machine), a malformed key.
    """
    if not key or not str(key).strip():
        raise ValueError("--oauth-provider generic needs --oauth-key CLIENT_ID (the client id registered with "
                         "the provider)")
    if not secret:
        raise ValueError("--oauth-provider generic needs --oauth-secret SECRET|env:NAME (or "
                         "$POWERFIRST_OAUTH_SECRET): the client secret registered with the provider")
    secret = read_secret(secret, "--oauth-secret")
    if not encryption_key:
        raise ValueError("--oauth-provider generic needs --oauth-encryption-key KEY|env:NAME (or "
                         "$POWERFIRST_OAUTH_ENCRYPTION_KEY): it encrypts the tokens kept in the browser's cookies; "
                         "make one with: python -c 'from cryptography.fernet import Fernet; "
                         "print(Fernet.generate_key().decode())'")
    enc = read_encryption_key(encryption_key)
    found = {"authorize_url": None, "token_url": None, "user_url": None, "logout_url": None}
    if issuer:
        found.update(discover_oidc(issuer, timeout=timeout))
    given = {"authorize_url": ("--oauth-authorize-url", authorize_url), "token_url": ("--oauth-token-url", token_url),
             "user_url": ("--oauth-user-url", user_url)}
    for name, (option, value) in given.items():
        if value:
            found[name] = check_endpoint_url(value, option)
    missing = [given[n][0] for n in ("authorize_url", "token_url") if not found[n]]
    if missing:
        raise ValueError(f"--oauth-provider generic needs --oidc-issuer URL, or {' and '.join(missing)}")
    if redirect_uri:
        redirect_uri = check_endpoint_url(redirect_uri, "--oauth-redirect-uri")
    claim = str(user_claim or "").strip()
    if not claim:
        raise ValueError("--oauth-user-claim: expected a claim name such as email, preferred_username or sub")
    if scopes is None:
        scope_list = DEFAULT_SCOPES
    else:
        raw = scopes.replace(",", " ").split() if isinstance(scopes, str) else [str(x) for x in scopes]
        scope_list = tuple(dict.fromkeys(x for x in raw if x))
        if "openid" not in scope_list:
            raise ValueError(f"--oauth-scope: an OpenID Connect log-in needs the scope 'openid', found "
                             f"{' '.join(scope_list) or 'none'}")
    return OAuthSettings(key=str(key).strip(), secret=secret, redirect_uri=redirect_uri, user_claim=claim,
                         scopes=scope_list, encryption_key=enc, **found)


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
