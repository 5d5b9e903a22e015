"""A small OpenID Connect provider on loopback, built on joserfc (Authlib's JOSE library): the organisation's identity
provider in the sign-in tests.

Authorization code flow as Streamlit's `st.login` uses it: discovery, an authorization page with an
e-mail field (a person signs in by typing their address), a token endpoint that checks the client's
secret, the code and the redirect URI, and RS256-signed ID tokens whose keys are at `jwks_uri`.
"""

from __future__ import annotations

import base64
import html
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.servers import free_port


class OidcProvider:
    """One client (`client_id`, `client_secret`) may sign people in; `issued` lists the e-mails signed in."""

    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
        self.codes: dict[str, dict[str, Any]] = {}
        self.issued: list[str] = []
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def metadata_url(self) -> str:
        """The discovery document (`server_metadata_url` in Streamlit's `[auth]`)."""
        return f"{self.issuer}/.well-known/openid-configuration"

    def start(self) -> OidcProvider:
        """Serve until `stop()`."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port."""
        self._server.shutdown()
        self._server.server_close()

    def _discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "claims_supported": ["sub", "email", "email_verified", "name"],
        }

    def _id_token(self, grant: dict[str, Any]) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": grant["email"],
            "aud": self.client_id,
            "iat": now,
            "exp": now + 600,
            "nonce": grant["nonce"],
            "email": grant["email"],
            "email_verified": True,
            "name": grant["email"].split("@")[0],
        }
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)

    def _client_ok(self, headers: Any, form: dict[str, str]) -> bool:
        auth = headers.get("Authorization") or ""
        if auth.startswith("Basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        return client_id == self.client_id and secrets.compare_digest(secret, self.client_secret)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return type("Handler", (_ProviderHandler,), {"provider": self})


class _ProviderHandler(BaseHTTPRequestHandler):
    """The provider's endpoints: discovery, keys, the authorization page and form, and the token."""

    provider: OidcProvider

    def _send(self, status: int, body: str = "", kind: str = "application/json", **headers: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _form(self) -> dict[str, str]:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        return {k: v[0] for k, v in parse_qs(raw).items()}

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/.well-known/openid-configuration":
            self._send(200, json.dumps(self.provider._discovery()))
        elif url.path == "/jwks":
            self._send(200, json.dumps({"keys": [self.provider.key.as_dict(private=False)]}))
        elif url.path == "/authorize":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if query.get("client_id") != self.provider.client_id or query.get("response_type") != "code":
                self._send(400, '{"error": "invalid_request"}')
                return
            hidden = "".join(
                f'<input type="hidden" name="{k}" value="{html.escape(query.get(k, ""))}">'
                for k in ("redirect_uri", "state", "nonce")
            )
            page = (
                f"<html><body><h1>Test identity provider</h1><form method='post' action='/authorize'>"
                f"<label>E-mail <input name='email' type='email'></label>{hidden}"
                f"<button type='submit'>Continue</button></form></body></html>"
            )
            self._send(200, page, "text/html")
        else:
            self._send(404, '{"error": "not_found"}')

    def do_POST(self) -> None:
        form = self._form()
        if self.path == "/authorize":
            code = secrets.token_urlsafe(16)
            self.provider.codes[code] = {
                "email": form["email"].strip().lower(),
                "nonce": form.get("nonce"),
                "redirect_uri": form["redirect_uri"],
            }
            target = form["redirect_uri"] + "?" + urlencode({"code": code, "state": form.get("state", "")})
            self._send(302, "", "text/plain", Location=target)
        elif self.path == "/token":
            grant = self.provider.codes.pop(form.get("code", ""), None)
            if not self.provider._client_ok(self.headers, form):
                self._send(401, '{"error": "invalid_client"}')
            elif grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
                self._send(400, '{"error": "invalid_grant"}')
            else:
                self.provider.issued.append(grant["email"])
                token = {
                    "access_token": secrets.token_urlsafe(16),
                    "token_type": "Bearer",
                    "expires_in": 600,
                    "id_token": self.provider._id_token(grant),
                }
                self._send(200, json.dumps(token))
        else:
            self._send(404, '{"error": "not_found"}')

    def log_message(self, *args) -> None:
        pass
