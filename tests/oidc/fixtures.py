"""A real OpenID Provider for the tests: oidc-provider (npm) run by Node from provider.mjs on a
free port of 127.0.0.1, with Offerdesk registered as a client for the test client's host
(http://localhost) and for the live server. Tests give it accounts (claims per login) and drive
its sign-in form with requests (sign_in) or Playwright.

Import the fixtures into a test module: `from tests.oidc.fixtures import oidc, openid_provider`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from app.accounts.services import openid
from tests.conftest import _free_port

HERE = Path(__file__).resolve().parent
CLIENT_ID = "offerdesk"
CLIENT_SECRET = "offerdesk-test-client-secret-0123456789"
TEST_CLIENT_ORIGIN = "http://localhost"
CALLBACK = "/login/oidc/callback"


@dataclass
class OpenIDProvider:
    issuer: str
    accounts_file: Path
    accounts: dict = field(default_factory=dict)

    def set_accounts(self, *accounts: dict) -> None:
        """Each account is its claims, "sub" among them (the login of the sign-in form); the
        provider reads them again at each sign-in."""
        self.accounts = {claims["sub"]: claims for claims in accounts}
        self.accounts_file.write_text(json.dumps(self.accounts))

    def set_claims(self, subject: str, **claims) -> None:
        self.set_accounts(*(
            {**account, **claims} if sub == subject else account
            for sub, account in self.accounts.items()
        ))  # fmt: skip

    def sign_in(self, authorize_url: str, login: str, agent: requests.Session | None = None) -> str:
        """Go through the provider's sign-in form as `login` (a subject), as a browser would;
        returns the URL the provider sends the browser back to (Offerdesk's callback with code
        and state)."""
        agent = agent or requests.Session()
        page = agent.get(authorize_url, timeout=10)
        assert page.status_code == 200, page.text[:500]
        action = re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1)
        response = agent.post(
            urljoin(page.url, action),
            data={"prompt": "login", "login": login, "password": "any"},
            allow_redirects=False,
            timeout=10,
        )
        for _ in range(10):
            location = urljoin(response.url, response.headers.get("Location", ""))
            assert response.status_code in (302, 303), response.text[-800:]
            if urlsplit(location).path == CALLBACK:
                return location
            response = agent.get(location, allow_redirects=False, timeout=10)
        raise AssertionError("the provider never sent the browser back to Offerdesk")


def _node() -> str:
    node = shutil.which("node") or "/usr/bin/node"
    if not Path(node).exists():
        raise RuntimeError("Node.js not found: install Debian's nodejs (make test does).")
    if not (HERE / "node_modules" / "oidc-provider").exists():
        raise RuntimeError("oidc-provider missing: run `npm ci` in tests/oidc (make test does).")
    return node


@pytest.fixture(scope="session")
def openid_provider(_live_server):
    port = _free_port()
    folder = Path(tempfile.mkdtemp(prefix="offerdesk-oidc-"))
    accounts_file = folder / "accounts.json"
    accounts_file.write_text("{}")
    origins = [TEST_CLIENT_ORIGIN, _live_server.url]
    clients = [
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [origin + CALLBACK for origin in origins],
            "post_logout_redirect_uris": [origin + "/login" for origin in origins],
        }
    ]
    env = {
        **os.environ,
        "OIDC_TEST_PORT": str(port),
        "OIDC_TEST_CLIENTS": json.dumps(clients),
        "OIDC_TEST_ACCOUNTS": str(accounts_file),
    }
    log = open(folder / "provider.log", "w")  # noqa: SIM115 - open for the process's life
    process = subprocess.Popen(
        [_node(), str(HERE / "provider.mjs")], cwd=HERE, env=env, stdout=log, stderr=log
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        _wait_for_discovery(issuer, process, folder / "provider.log")
        yield OpenIDProvider(issuer=issuer, accounts_file=accounts_file)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for_discovery(issuer: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the OpenID provider stopped: {log_path.read_text()}")
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the OpenID provider did not start: {log_path.read_text()}")


def oidc_settings(issuer: str, **extra) -> dict:
    return {
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_SCOPES": "openid email profile groups",
        "OIDC_GROUPS_CLAIM": "groups",
        "OIDC_ROLE_MAP": {
            "staff": ["consumer"],
            "catalog-team": ["catalog_manager"],
            "offerdesk-admins": ["admin"],
        },
        "OIDC_GROUP_MAP": {"finance": ["Finance"], "engineering": ["Engineering"]},
        "OIDC_ONLY": False,
        "OIDC_PROVIDER_NAME": "Test SSO",
        **extra,
    }


def configure(monkeypatch, apps, settings: dict) -> None:
    for application in apps:
        for key, value in settings.items():
            monkeypatch.setitem(application.config, key, value)
    openid._DOCUMENTS.clear()
    openid._KEYS.clear()


@pytest.fixture
def oidc(app, _live_server, openid_provider, monkeypatch):
    """Offerdesk (the test client's app and the live server) signing in through the provider,
    which starts each test with no accounts."""
    configure(monkeypatch, (app, _live_server), oidc_settings(openid_provider.issuer))
    openid_provider.set_accounts()
    return openid_provider
