"""`powerfirst serve --oauth-provider generic`: an OpenID Connect log-in through Panel's own OAuth.

Offline: a small OpenID Connect provider (:class:`FakeOIDC`, a Tornado app on 127.0.0.1 in this
process) serves a discovery document, an authorization endpoint with a log-in form that redirects
back with a one-time code, a token endpoint that checks the client id, client secret, code and
redirect URI (RFC 6749, section 4.1.3), and a userinfo endpoint that checks the bearer token.  A
served workbench is configured to use it; headless Chromium shows that a visit without a log-in is
sent to the provider and that after the log-in the workbench loads for the user the provider named.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import tornado.web

from powerfirst.apps._workbench_serve import (
    DEFAULT_SCOPES,
    check_endpoint_url,
    discover_oidc,
    landing_page,
    oauth_settings,
    read_encryption_key,
)

CLIENT_ID = "powerfirst-test"
CLIENT_SECRET = "s3cret-" + "x" * 20
USERS = {"analyst": {"sub": "u-1", "email": "analyst@example.org", "preferred_username": "analyst",
                     "name": "An Analyst"}}
#: a Fernet key: 32 bytes, url-safe base64
ENC_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()
COOKIE = "k" * 40


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------ a provider


class FakeOIDC:
    """A small OpenID Connect provider on 127.0.0.1 (authorization-code flow), run in a thread.

    ``calls`` records each endpoint reached (``discovery``, ``authorize``, ``login``, ``token``,
    ``userinfo``) with what was checked, in order."""

    def __init__(self, issuer_suffix: str = "", discovery: dict | None = None):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}{issuer_suffix}"
        self.calls: list[tuple[str, dict]] = []
        self.codes: dict[str, dict] = {}
        self.tokens: dict[str, str] = {}
        self.discovery = discovery
        self._loop = None
        self._started = threading.Event()

    # endpoints
    def document(self) -> dict:
        if self.discovery is not None:
            return self.discovery
        return {"issuer": self.issuer, "authorization_endpoint": self.issuer + "/authorize",
                "token_endpoint": self.issuer + "/token", "userinfo_endpoint": self.issuer + "/userinfo",
                "end_session_endpoint": self.issuer + "/logout", "response_types_supported": ["code"],
                "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"]}

    def app(self) -> tornado.web.Application:
        idp = self

        class Discovery(tornado.web.RequestHandler):
            def get(self):
                idp.calls.append(("discovery", {}))
                self.set_header("Content-Type", "application/json")
                self.write(json.dumps(idp.document()))

        class Authorize(tornado.web.RequestHandler):
            def get(self):
                q = {k: self.get_argument(k, "") for k in ("client_id", "response_type", "redirect_uri", "state",
                                                           "scope")}
                idp.calls.append(("authorize", q))
                if q["client_id"] != CLIENT_ID or q["response_type"] != "code" or not q["redirect_uri"]:
                    raise tornado.web.HTTPError(400, "bad authorization request")
                hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
                                 for k, v in q.items() if k in ("redirect_uri", "state"))
                self.write(f"<!DOCTYPE html><html><body><h1>Test provider</h1><form method='post'>{hidden}"
                           "<input id='username' name='username'><button id='provider-login' type='submit'>"
                           "Log in</button></form></body></html>")

            def post(self):
                user = self.get_argument("username")
                redirect_uri, state = self.get_argument("redirect_uri"), self.get_argument("state")
                idp.calls.append(("login", {"user": user}))
                if user not in USERS:
                    raise tornado.web.HTTPError(403, "unknown user")
                code = secrets.token_urlsafe(16)
                idp.codes[code] = {"user": user, "redirect_uri": redirect_uri}
                sep = "&" if "?" in redirect_uri else "?"
                self.redirect(redirect_uri + sep + urllib.parse.urlencode({"code": code, "state": state}))

        class Token(tornado.web.RequestHandler):
            def check_xsrf_cookie(self):
                pass

            def post(self):
                a = {k: self.get_argument(k, "") for k in ("grant_type", "client_id", "client_secret", "code",
                                                           "redirect_uri")}
                grant = idp.codes.pop(a["code"], None)  # a code works once
                ok = (a["grant_type"] == "authorization_code" and a["client_id"] == CLIENT_ID
                      and a["client_secret"] == CLIENT_SECRET and grant is not None
                      and grant["redirect_uri"] == a["redirect_uri"])
                idp.calls.append(("token", {"ok": ok, "redirect_uri": a["redirect_uri"]}))
                self.set_header("Content-Type", "application/json")
                if not ok:
                    self.set_status(400)
                    self.write(json.dumps({"error": "invalid_grant"}))
                    return
                token = secrets.token_urlsafe(24)
                idp.tokens[token] = grant["user"]
                self.write(json.dumps({"access_token": token, "token_type": "Bearer", "expires_in": 3600}))

        class UserInfo(tornado.web.RequestHandler):
            def get(self):
                auth = self.request.headers.get("Authorization", "")
                user = idp.tokens.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
                idp.calls.append(("userinfo", {"ok": user is not None}))
                if user is None:
                    raise tornado.web.HTTPError(401)
                self.set_header("Content-Type", "application/json")
                self.write(json.dumps(USERS[user]))

        prefix = urllib.parse.urlsplit(self.issuer).path
        return tornado.web.Application([(prefix + r"/\.well-known/openid-configuration", Discovery),
                                        (prefix + "/authorize", Authorize), (prefix + "/token", Token),
                                        (prefix + "/userinfo", UserInfo)])

    # running
    def _run(self):
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        server = self.app().listen(self.port, address="127.0.0.1")
        self._started.set()
        loop.run_forever()
        server.stop()
        loop.close()

    def __enter__(self):
        threading.Thread(target=self._run, daemon=True).start()
        assert self._started.wait(10)
        return self

    def __exit__(self, *exc):
        self._loop.call_soon_threadsafe(self._loop.stop)

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]


# ------------------------------------------------------------------------------------ checks, no server


def test_endpoint_urls_must_be_https_except_on_this_machine():
    assert check_endpoint_url("https://login.example.org/x", "--oidc-issuer") == "https://login.example.org/x"
    for local in ("http://127.0.0.1:8080/a", "http://localhost/a", "http://[::1]:9/a"):
        assert check_endpoint_url(local, "--oauth-token-url") == local
    with pytest.raises(ValueError, match=r"--oauth-token-url: expected an https:// URL \(plain http:// only for "
                                         r"127.0.0.1 or localhost\), found 'http://login.example.org/token'"):
        check_endpoint_url("http://login.example.org/token", "--oauth-token-url")
    for bad in ("login.example.org/token", "ftp://login.example.org/", "https://", "/token"):
        with pytest.raises(ValueError, match="--oidc-issuer: expected an absolute https:// URL, found"):
            check_endpoint_url(bad, "--oidc-issuer")
    with pytest.raises(ValueError, match="must not hold a user name or password"):
        check_endpoint_url("https://me:pw@login.example.org/", "--oidc-issuer")


def test_encryption_key_is_32_bytes_of_url_safe_base64(monkeypatch):
    assert read_encryption_key(ENC_KEY) == ENC_KEY.encode()
    monkeypatch.setenv("PF_ENC", ENC_KEY)
    assert read_encryption_key("env:PF_ENC") == ENC_KEY.encode()
    short = base64.urlsafe_b64encode(b"x" * 16).decode()
    with pytest.raises(ValueError, match=r"expected 32 bytes in url-safe base64 \(44 characters\), found 16 bytes"):
        read_encryption_key(short)
    with pytest.raises(ValueError, match="expected url-safe base64 text"):
        read_encryption_key("not base64 at all!")
    with pytest.raises(ValueError, match="environment variable 'PF_MISSING' is not set or empty"):
        read_encryption_key("env:PF_MISSING")


def test_settings_from_discovery_feed_panels_generic_provider():
    with FakeOIDC("/realms/test") as idp:
        found = discover_oidc(idp.issuer + "/")  # a trailing slash names the same issuer
        s = oauth_settings(key=CLIENT_ID, secret=CLIENT_SECRET, issuer=idp.issuer, encryption_key=ENC_KEY,
                           redirect_uri="http://127.0.0.1:5006/login")
    assert found == {"authorize_url": idp.issuer + "/authorize", "token_url": idp.issuer + "/token",
                     "user_url": idp.issuer + "/userinfo", "logout_url": idp.issuer + "/logout"}
    assert idp.names() == ["discovery", "discovery"]
    assert s.extra_params() == {"AUTHORIZE_URL": idp.issuer + "/authorize", "TOKEN_URL": idp.issuer + "/token",
                                "USER_URL": idp.issuer + "/userinfo", "LOGOUT_URL": idp.issuer + "/logout",
                                "USER_KEY": "email", "scope": list(DEFAULT_SCOPES)}
    assert CLIENT_SECRET not in repr(s) and ENC_KEY not in repr(s)
    # explicit endpoints override the discovered ones; no issuer needed with both required ones
    s2 = oauth_settings(key=CLIENT_ID, secret=CLIENT_SECRET, authorize_url="https://id.example.org/auth",
                        token_url="https://id.example.org/token", encryption_key=ENC_KEY, scopes="openid,email",
                        user_claim="preferred_username")
    assert s2.user_url is None and s2.scopes == ("openid", "email")
    assert s2.extra_params()["USER_KEY"] == "preferred_username" and "USER_URL" not in s2.extra_params()


@pytest.mark.parametrize("doc, message", [
    ({"issuer": "ISSUER", "authorization_endpoint": "ISSUER/a"}, "lacks token_endpoint"),
    ({"issuer": "https://elsewhere.example.org", "authorization_endpoint": "ISSUER/a", "token_endpoint": "ISSUER/t"},
     "names issuer 'https://elsewhere.example.org', expected 'ISSUER'"),
    ({"issuer": "ISSUER", "authorization_endpoint": "http://login.example.org/a", "token_endpoint": "ISSUER/t"},
     "authorization_endpoint of ISSUER/.well-known/openid-configuration: expected an https:// URL"),
    (["not", "an", "object"], "is not a JSON object"),
])
def test_a_bad_discovery_document_is_refused_saying_why(doc, message):
    with FakeOIDC() as idp:
        fill = json.loads(json.dumps(doc).replace("ISSUER", idp.issuer))
        idp.discovery = fill
        with pytest.raises(ValueError, match="--oidc-issuer: ") as e:
            discover_oidc(idp.issuer)
    assert message.replace("ISSUER", idp.issuer) in str(e.value)


def test_an_unreachable_issuer_is_named():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(ValueError, match=rf"could not read the provider's discovery document "
                                         rf"{url}/\.well-known/openid-configuration"):
        discover_oidc(url, timeout=5)


def test_landing_page_names_the_user_only_with_a_log_in():
    with open(landing_page(signed_in=True), encoding="utf-8") as f:
        signed = f.read()
    with open(landing_page(), encoding="utf-8") as f:
        plain = f.read()
    assert "Signed in as <b>{{ current_user }}</b>" in signed and "./logout" in signed
    assert "Signed in" not in plain and "current_user" not in plain
    assert "{{ current_user }}" in signed and "{% raw" not in signed  # escaped by Tornado (autoescape)


# ------------------------------------------------------------------------------------ the CLI refuses


def serve_main(*argv, env=None, monkeypatch=None):
    from powerfirst.cli import main

    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    return main(["serve", "--port", "0", *argv])


OK = ("--oauth-provider", "generic", "--oauth-key", CLIENT_ID, "--oauth-secret", "env:PF_OAUTH_SECRET",
      "--oauth-encryption-key", "env:PF_ENC", "--cookie-secret", "env:PF_COOKIE")
ENV = {"PF_OAUTH_SECRET": CLIENT_SECRET, "PF_ENC": ENC_KEY, "PF_COOKIE": COOKIE}


def _drop(args, option):
    i = args.index(option)
    return args[:i] + args[i + 2:]


@pytest.mark.parametrize("argv, message", [
    (("--oauth-key", "x"), "--oauth-key given without --oauth-provider generic"),
    (("--oidc-issuer", "https://id.example.org", "--oauth-user-claim", "sub"),
     "--oidc-issuer, --oauth-user-claim given without --oauth-provider generic"),
    ((*OK, "--oidc-issuer", "https://id.example.org", "--basic-auth", "env:PF_COOKIE"),
     "--basic-auth and --oauth-provider are two ways to log in: choose one"),
    ((*_drop(OK, "--cookie-secret"), "--oidc-issuer", "https://id.example.org"), "--oauth-provider needs --cookie-secret"),
    ((*_drop(OK, "--oauth-key"), "--oidc-issuer", "https://id.example.org"), "needs --oauth-key CLIENT_ID"),
    ((*_drop(OK, "--oauth-secret"), "--oidc-issuer", "https://id.example.org"), "needs --oauth-secret SECRET|env:NAME"),
    ((*_drop(OK, "--oauth-encryption-key"), "--oidc-issuer", "https://id.example.org"),
     "needs --oauth-encryption-key KEY|env:NAME"),
    (OK, "needs --oidc-issuer URL, or --oauth-authorize-url and --oauth-token-url"),
    ((*OK, "--oauth-authorize-url", "https://id.example.org/a"), "needs --oidc-issuer URL, or --oauth-token-url"),
    ((*OK, "--oidc-issuer", "http://id.example.org"),
     "--oidc-issuer: expected an https:// URL (plain http:// only for 127.0.0.1 or localhost)"),
    ((*OK, "--oauth-authorize-url", "https://id.example.org/a", "--oauth-token-url", "https://id.example.org/t",
      "--oauth-redirect-uri", "http://workbench.example.org/login"), "--oauth-redirect-uri: expected an https:// URL"),
    ((*OK, "--oauth-authorize-url", "https://id.example.org/a", "--oauth-token-url", "https://id.example.org/t",
      "--oauth-scope", "email profile"), "--oauth-scope: an OpenID Connect log-in needs the scope 'openid'"),
    ((*OK[:-1], "env:PF_SHORT", "--oauth-authorize-url", "https://id.example.org/a", "--oauth-token-url",
      "https://id.example.org/t"), None),
])
def test_oauth_options_that_do_not_fit_exit_2_saying_why(argv, message, capsys, monkeypatch):
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("PF_SHORT", "short")
    for k in ("POWERFIRST_COOKIE_SECRET", "POWERFIRST_OAUTH_SECRET", "POWERFIRST_OAUTH_ENCRYPTION_KEY"):
        monkeypatch.delenv(k, raising=False)
    code = serve_main(*argv)
    err = capsys.readouterr().err
    if message is None:  # a short cookie secret is refused as without OAuth (exit 1)
        assert code == 1 and "--cookie-secret: expected at least 32 characters, found 5" in err
        return
    assert code == 2, err
    assert err.startswith("powerfirst serve: error: ") and message in err


def test_a_short_encryption_key_and_an_unreachable_issuer_exit_2(capsys, monkeypatch):
    for k, v in {**ENV, "PF_ENC": base64.urlsafe_b64encode(b"k" * 31).decode()}.items():
        monkeypatch.setenv(k, v)
    assert serve_main(*OK, "--oidc-issuer", "https://id.example.org") == 2
    assert "--oauth-encryption-key: expected 32 bytes in url-safe base64 (44 characters), found 31 bytes" in \
        capsys.readouterr().err
    monkeypatch.setenv("PF_ENC", ENC_KEY)
    dead = f"http://127.0.0.1:{free_port()}"
    assert serve_main(*OK, "--oidc-issuer", dead) == 2
    assert f"could not read the provider's discovery document {dead}/.well-known/openid-configuration" in \
        capsys.readouterr().err


# ------------------------------------------------------------------------------------ served, in Chromium


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def _status(url: str) -> tuple[int, str]:
    """Status and Location of one request, without following redirects."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        r = opener.open(url, timeout=10)
        return r.status, ""
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location", "")


@pytest.fixture(scope="module")
def idp():
    with FakeOIDC("/realms/pf") as provider:
        yield provider


@pytest.fixture(scope="module")
def oauth_workbench(idp, tmp_path_factory):
    """`powerfirst serve` on every interface with the provider's log-in; its standard error is kept."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("oauth") / "serve.log"
    env = {**os.environ, **ENV}
    for k in ("POWERFIRST_COOKIE_SECRET", "POWERFIRST_OAUTH_SECRET", "POWERFIRST_OAUTH_ENCRYPTION_KEY"):
        env.pop(k, None)
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "powerfirst.cli", "serve", "--port", str(port),
                                 "--address", "0.0.0.0", *OK, "--oidc-issuer", idp.issuer,
                                 "--oauth-redirect-uri", url + "/login"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"powerfirst serve exited: {log.read_text()}")
            try:
                _status(url + "/login")
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("powerfirst serve did not answer within 180 s")
        yield url, log
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_serving_everywhere_with_oauth_does_not_warn_and_reads_the_issuer(oauth_workbench, idp):
    url, log = oauth_workbench
    text = log.read_text()
    assert "warning: serving on" not in text, text
    assert f"log-in through {idp.issuer}/authorize; the provider must allow the redirect URI {url}/login" in text
    assert ("discovery", {}) in idp.calls
    assert f"serving at {url} (" in text  # on every interface, a browser here opens 127.0.0.1


def test_a_visit_without_a_log_in_goes_to_the_provider(oauth_workbench, idp):
    url, _ = oauth_workbench
    code, location = _status(url + "/workbench")
    assert code == 302 and location.lstrip(".").startswith("/login"), (code, location)
    code, location = _status(url + "/login?next=%2Fworkbench")
    assert code == 302 and location.startswith(idp.issuer + "/authorize?")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    assert q["client_id"] == [CLIENT_ID] and q["response_type"] == ["code"]
    assert q["redirect_uri"] == [url + "/login"] and q["scope"] == [" ".join(DEFAULT_SCOPES)]
    assert "state" in q  # Panel's cross-site token, checked against its cookie on return


@pytest.mark.browser
def test_oauth_log_in_at_the_provider_opens_the_workbench_for_that_user(browser, oauth_workbench, idp):
    from tornado.web import decode_signed_value

    url, _ = oauth_workbench
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        start = len(idp.calls)
        page.goto(url + "/", wait_until="domcontentloaded", timeout=120_000)
        page.wait_for_url(idp.issuer + "/authorize**", timeout=60_000)  # sent to the provider
        page.fill("#username", "analyst")
        page.click("#provider-login")
        page.wait_for_url("**/workbench", timeout=120_000)
        page.get_by_text("Sites:").first.wait_for(timeout=120_000)  # the workbench session loaded
        flow = [c for c in idp.calls[start:] if c[0] != "discovery"]
        assert [c[0] for c in flow] == ["authorize", "login", "token", "userinfo"]
        assert flow[2][1] == {"ok": True, "redirect_uri": url + "/login"} and flow[3][1] == {"ok": True}
        # pn.state.user is the signed `user` cookie (Panel decodes it with the cookie secret)
        cookies = {c["name"]: c for c in ctx.cookies(url)}
        value = {k: c["value"].strip('"') for k, c in cookies.items()}  # as Tornado reads it (unquoted)
        assert cookies["user"]["httpOnly"]
        assert decode_signed_value(COOKIE, "user", value["user"]) == b"analyst@example.org"
        assert decode_signed_value("another-secret" * 3, "user", value["user"]) is None
        # the tokens in the cookies are encrypted with the encryption key (not the provider's token)
        access = decode_signed_value(COOKIE, "access_token", value["access_token"])
        assert access not in idp.tokens and access.decode() not in idp.tokens
        from cryptography.fernet import Fernet

        assert Fernet(ENC_KEY.encode()).decrypt(access).decode() in idp.tokens
        landing = page.request.get(url + "/").text()
        assert 'Signed in as <b>analyst@example.org</b>' in landing and 'href="./logout"' in landing
        assert not errors, errors
    finally:
        ctx.close()


@pytest.mark.browser
def test_a_forged_user_cookie_is_not_a_log_in(browser, oauth_workbench, idp):
    url, _ = oauth_workbench
    ctx = browser.new_context()
    try:
        ctx.add_cookies([{"name": "user", "value": "analyst@example.org", "url": url}])
        page = ctx.new_page()
        page.goto(url + "/workbench", wait_until="domcontentloaded", timeout=120_000)
        page.wait_for_url(idp.issuer + "/authorize**", timeout=60_000)
    finally:
        ctx.close()
