"""ID tokens the real provider cannot be made to issue (a bad signature, another audience, an
expired one, another issuer), served by a tiny provider of the test's own on loopback: its
discovery document, key set, authorization endpoint (which answers at once) and token endpoint
(which answers with the token the test forged, signed with a key the test controls)."""

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import RSAKey

from app.accounts.models import User, UserIdentity
from app.extensions import db
from tests.oidc.fixtures import CLIENT_ID, configure, oidc_settings

SIGNING_KEY = RSAKey.generate_key(2048, parameters={"kid": "forger-1", "use": "sig"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "forger-1", "use": "sig"})


class ForgingProvider:
    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.nonce = None
        self.forge = lambda claims: jwt.encode({"alg": "RS256", "kid": "forger-1"}, claims,
                                               SIGNING_KEY)  # fmt: skip
        self.claims = {}

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, body):
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlsplit(self.path)
                if url.path == "/.well-known/openid-configuration":
                    return self._json(provider.document())
                if url.path == "/jwks":
                    return self._json({"keys": [SIGNING_KEY.as_dict(private=False)]})
                query = {key: values[0] for key, values in parse_qs(url.query).items()}
                provider.nonce = query["nonce"]
                back = urlencode({"code": "forged-code", "state": query["state"]})
                self.send_response(302)
                self.send_header("Location", f"{query['redirect_uri']}?{back}")
                self.end_headers()

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = int(time.time())
                claims = {"iss": provider.issuer, "aud": CLIENT_ID, "sub": "forged-1",
                          "iat": now, "exp": now + 300, "nonce": provider.nonce,
                          "email": "mallory@corp.example", "email_verified": True,
                          "name": "Mallory", "groups": ["offerdesk-admins"]}  # fmt: skip
                claims.update(provider.claims)
                self._json(
                    {"access_token": "at", "token_type": "Bearer", "expires_in": 300,
                     "id_token": provider.forge(claims)}
                )  # fmt: skip

        return Handler

    def document(self):
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/auth",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
        }


@pytest.fixture
def forger(app, _live_server, monkeypatch):
    provider = ForgingProvider()
    thread = threading.Thread(target=provider.server.serve_forever, daemon=True)
    thread.start()
    configure(monkeypatch, (app,), oidc_settings(provider.issuer))
    yield provider
    provider.server.shutdown()
    provider.server.server_close()


def go_through(app):
    client = app.test_client()
    authorize = client.get("/login/oidc").headers["Location"]
    back = urlsplit(requests.get(authorize, allow_redirects=False, timeout=5).headers["Location"])
    return client, client.get(f"{back.path}?{back.query}")


def count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_token_signed_with_the_provider_s_key_signs_in(app, forger):
    """The control: the forger's tokens are good ones unless a test spoils them."""
    client, response = go_through(app)
    assert response.status_code == 302
    assert db.session.scalar(sa.select(User.email)) == "mallory@corp.example"


@pytest.mark.parametrize(
    ("spoil", "logged"),
    [
        ({"aud": "another-client"}, "claims are not valid"),
        ({"aud": [CLIENT_ID, "another-client"]}, "issued to another party"),
        ({"exp": int(time.time()) - 600, "iat": int(time.time()) - 900}, "has expired"),
        ({"iss": "https://elsewhere.example"}, "claims are not valid"),
        ({"nonce": "another-nonce"}, "claims are not valid"),
    ],
    ids=["wrong-audience", "other-authorized-party", "expired", "other-issuer", "nonce"],
)
def test_a_spoiled_id_token_is_refused(app, forger, caplog, spoil, logged):
    forger.claims = spoil
    client, response = go_through(app)
    assert response.status_code == 401
    assert b"Sign-in refused" in response.data
    assert (count(User), count(UserIdentity)) == (0, 0)
    assert logged in caplog.text
    assert client.get("/account").status_code == 302


def test_an_id_token_with_a_bad_signature_is_refused(app, forger, caplog):
    forger.forge = lambda claims: jwt.encode({"alg": "RS256", "kid": "forger-1"}, claims, OTHER_KEY)
    client, response = go_through(app)
    assert response.status_code == 401
    assert (count(User), count(UserIdentity)) == (0, 0)
    assert "signature is not the provider's" in caplog.text


def _unsigned(claims):
    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}."


def test_an_unsigned_id_token_is_refused(app, forger, caplog):
    forger.forge = _unsigned
    client, response = go_through(app)
    assert response.status_code == 401
    assert (count(User), count(UserIdentity)) == (0, 0)
    assert "unreadable ID token" in caplog.text
