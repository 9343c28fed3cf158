"""The OpenID Connect protocol of sign-in, through Authlib: the provider's discovery document and
keys, the authorization request (code flow with PKCE, state and nonce), the code exchange and
the ID token's checks (signature against the provider's keys, issuer, audience, expiry, nonce).

What a sign-in does to users is in sso.py; this module only says whether the provider vouched
for a set of claims."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from flask import current_app
from joserfc import jwt
from joserfc.errors import BadSignatureError, ExpiredTokenError, JoseError
from joserfc.jwk import KeySet

from ...errors import Unauthorized
from ...i18n import _l

REFUSED = _l(
    "The sign-in through your identity provider could not be completed, and nothing was "
    "changed. Start again from the log-in page."
)
UNAVAILABLE = _l("The identity provider cannot be reached just now. Try again in a moment.")
# Asymmetric signatures only: "none" and the HMAC family (keyed by the client secret) are refused.
SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]
CACHE_SECONDS = 3600
CLOCK_SKEW_SECONDS = 60


class SignInRefused(Unauthorized):
    """A sign-in that must not go on. `message` is for the person, `reason` for the log."""

    def __init__(self, message: str, reason: str, *, status: int = 401):
        super().__init__(message)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Settings:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    timeout: float


def settings() -> Settings:
    config = current_app.config
    return Settings(
        issuer=config["OIDC_ISSUER"].rstrip("/"),
        client_id=config["OIDC_CLIENT_ID"],
        client_secret=config["OIDC_CLIENT_SECRET"],
        scopes=config["OIDC_SCOPES"],
        timeout=config["OIDC_TIMEOUT"],
    )


def enabled() -> bool:
    config = current_app.config
    return bool(config.get("OIDC_ISSUER") and config.get("OIDC_CLIENT_ID"))


# The discovery document and the key set change rarely: fetched once an hour per issuer, and the
# keys again at once when a token names a key the cached set lacks (the provider rotated them).
_DOCUMENTS: dict[str, tuple[float, dict]] = {}
_KEYS: dict[str, tuple[float, KeySet]] = {}


def _get_json(url: str, timeout: float) -> dict:
    try:
        response = requests.get(url, timeout=timeout, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise SignInRefused(UNAVAILABLE, f"could not read {url}: {error}", status=503) from error
    if not isinstance(document, dict):
        raise SignInRefused(UNAVAILABLE, f"{url} is not a JSON object", status=503)
    return document


def discovery(config: Settings) -> dict:
    cached = _DOCUMENTS.get(config.issuer)
    if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    document = _get_json(f"{config.issuer}/.well-known/openid-configuration", config.timeout)
    if document.get("issuer") != config.issuer:
        raise SignInRefused(
            REFUSED,
            f"the discovery document names issuer {document.get('issuer')!r}, "
            f"not {config.issuer!r}",
            status=503,
        )
    _DOCUMENTS[config.issuer] = (time.monotonic(), document)
    return document


def _key_set(config: Settings, document: dict, *, fresh: bool = False) -> KeySet:
    cached = _KEYS.get(config.issuer)
    if cached and not fresh and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    try:
        keys = KeySet.import_key_set(_get_json(document["jwks_uri"], config.timeout))
    except (KeyError, ValueError, JoseError) as error:
        raise SignInRefused(UNAVAILABLE, f"unusable key set: {error}", status=503) from error
    _KEYS[config.issuer] = (time.monotonic(), keys)
    return keys


def _client(config: Settings, redirect_uri: str) -> OAuth2Session:
    return OAuth2Session(
        client_id=config.client_id,
        client_secret=config.client_secret,
        scope=config.scopes,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )


def begin(redirect_uri: str) -> tuple[str, dict]:
    """The provider's authorization URL, and what the callback must find in the session."""
    config = settings()
    document = discovery(config)
    pending = {
        "issuer": config.issuer,
        "state": generate_token(32),
        "nonce": generate_token(32),
        "code_verifier": generate_token(64),
    }
    url, _ = _client(config, redirect_uri).create_authorization_url(
        document["authorization_endpoint"],
        state=pending["state"],
        nonce=pending["nonce"],
        code_verifier=pending["code_verifier"],
    )
    return url, pending


def finish(pending: dict | None, answer: dict, redirect_uri: str) -> tuple[dict, str]:
    """Check the provider's answer against the sign-in under way, exchange the code and check the
    ID token. Returns its claims and the token itself (the hint for logging out)."""
    config = settings()
    if not pending or not pending.get("state"):
        raise SignInRefused(REFUSED, "no sign-in under way in this session")
    if not secrets.compare_digest(str(answer.get("state", "")), pending["state"]):
        raise SignInRefused(REFUSED, "the state does not match the sign-in under way")
    if pending.get("issuer") != config.issuer:
        raise SignInRefused(REFUSED, "the sign-in was started with another provider")
    if answer.get("error"):
        raise SignInRefused(
            REFUSED,
            f"the provider answered {answer.get('error')}: {answer.get('error_description')}",
        )
    if answer.get("iss") and answer["iss"] != config.issuer:  # RFC 9207
        raise SignInRefused(REFUSED, f"the answer comes from issuer {answer['iss']!r}")
    if not answer.get("code"):
        raise SignInRefused(REFUSED, "the answer has no code")
    document = discovery(config)
    try:
        token = _client(config, redirect_uri).fetch_token(
            document["token_endpoint"],
            code=answer["code"],
            code_verifier=pending["code_verifier"],
            timeout=config.timeout,
        )
    except OAuthError as error:  # a replayed or expired code: invalid_grant
        raise SignInRefused(REFUSED, f"the token endpoint refused the code: {error}") from error
    except requests.RequestException as error:
        raise SignInRefused(UNAVAILABLE, f"token endpoint: {error}", status=503) from error
    id_token = token.get("id_token")
    if not id_token:
        raise SignInRefused(REFUSED, "the token endpoint gave no ID token")
    return validate_id_token(config, document, id_token, nonce=pending["nonce"]), id_token


def _decode(config: Settings, document: dict, id_token: str):
    allowed = [
        alg
        for alg in document.get("id_token_signing_alg_values_supported", ["RS256"])
        if alg in SIGNING_ALGORITHMS
    ]
    for fresh in (False, True):
        keys = _key_set(config, document, fresh=fresh)
        try:
            return jwt.decode(id_token, keys, algorithms=allowed)
        except BadSignatureError as error:
            raise SignInRefused(
                REFUSED, "the ID token's signature is not the provider's"
            ) from error
        except (JoseError, ValueError) as error:
            if fresh:
                raise SignInRefused(REFUSED, f"unreadable ID token: {error}") from error
    raise AssertionError("unreachable")


def validate_id_token(config: Settings, document: dict, id_token: str, *, nonce: str) -> dict:
    claims = _decode(config, document, id_token).claims
    registry = jwt.JWTClaimsRegistry(
        now=int(time.time()),
        leeway=CLOCK_SKEW_SECONDS,
        iss={"essential": True, "value": config.issuer},
        aud={"essential": True, "value": config.client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError as error:
        raise SignInRefused(REFUSED, "the ID token has expired") from error
    except JoseError as error:
        raise SignInRefused(REFUSED, f"the ID token's claims are not valid: {error}") from error
    audience = claims["aud"]
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != config.client_id:
        raise SignInRefused(REFUSED, "the ID token was issued to another party (azp)")
    return claims


def end_session_url(id_token: str | None, post_logout_redirect_uri: str) -> str | None:
    """Where to send the browser to end the provider's session too (RP-initiated logout), when
    the provider has an end_session_endpoint; None otherwise."""
    if not enabled():
        return None
    config = settings()
    try:
        endpoint = discovery(config).get("end_session_endpoint")
    except SignInRefused:
        return None
    if not endpoint:
        return None
    query = {"client_id": config.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
    if id_token:
        query["id_token_hint"] = id_token
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"
