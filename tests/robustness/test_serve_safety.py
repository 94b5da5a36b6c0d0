"""Served dashboards: a client can neither choose a session id nor join another browser's session."""

import base64
import json
import re
import urllib.error
import urllib.request

import pytest

from powerfirst.apps import session_secret


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=120) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_a_foreign_session_id_is_refused(served):
    status, body = get(f"{served}/time_to_power?bokeh-session-id=shared-session-1")
    assert status == 403, body[:300]
    assert "Invalid token or session ID" in body


def session_id_of(page: str) -> str:
    token = re.search(r'"token"\s*:\s*"([^"]+)"', page).group(1)
    payload = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["session_id"]


def test_each_page_load_gets_its_own_signed_session(served):
    ids = []
    for _ in range(2):
        status, body = get(f"{served}/overview")
        assert status == 200
        ids.append(session_id_of(body))
    assert ids[0] != ids[1]
    for sid in ids:  # <random id>.<HMAC signature>: generated and signed by the server
        rid, _, signature = sid.partition(".")
        assert len(rid) >= 32 and len(signature) >= 32, sid


def test_secret_from_the_environment_must_be_long(monkeypatch):
    monkeypatch.setenv("POWERFIRST_SECRET_KEY", "short")
    with pytest.raises(ValueError, match="at least 32 characters"):
        session_secret()
    monkeypatch.setenv("POWERFIRST_SECRET_KEY", "x" * 40)
    assert session_secret() == "x" * 40
    monkeypatch.delenv("POWERFIRST_SECRET_KEY")
    monkeypatch.delenv("BOKEH_SECRET_KEY", raising=False)
    assert session_secret() != session_secret()  # a new random key per server start


@pytest.mark.parametrize("app", ["overview", "headroom", "time_to_power", "demand", "flexibility"])
def test_served_pages_fetch_nothing_from_outside_hosts(served, app):
    """No script, stylesheet, font or image is linked from another host (privacy, offline use)."""
    status, body = get(f"{served}/{app}")
    assert status == 200
    links = re.findall(r'(?:src|href)\s*=\s*["\']((?:https?:)?//[^"\']+)', body)
    links += re.findall(r'@import\s+url\(["\']?((?:https?:)?//[^)"\']+)', body)
    outside = [u for u in links if not re.match(r"(?:https?:)?//(127\.0\.0\.1|localhost)[:/]", u)]
    assert outside == []
