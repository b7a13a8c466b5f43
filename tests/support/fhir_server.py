"""A stand-in FHIR server on a loopback port: serves AdverseEvents by id, issues access
tokens for client credentials, and records every request it was sent, to any path.

``redirects`` maps an id to a Location answered with 302 instead of the resource, as a
hostile or misconfigured server might; paths it does not serve answer 404 and are recorded
too, so a test can tell that nothing was asked of them."""

from __future__ import annotations

import asyncio
import base64
import threading
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web

from runtime.broker import free_port

CLIENT_ID = "psb-test-client"
CLIENT_SECRET = "psb-test-client-secret"
ACCESS_TOKEN = "stand-in-access-token"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    authorization: str | None


@dataclass
class FhirStandIn:
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    tokens_issued: int = 0
    public_key: Any = None  # set: client assertions (SMART backend services) are verified
    assertions: list[dict[str, Any]] = field(default_factory=list)
    redirects: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/fhir"
        self.token_url = f"http://127.0.0.1:{self.port}/token"
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> FhirStandIn:
        self._thread.start()
        assert self._ready.wait(10), "stand-in FHIR server did not start"
        return self

    def __exit__(self, *_: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/fhir/AdverseEvent/{id}", self._read)
        app.router.add_post("/token", self._token)
        app.router.add_route("*", "/{tail:.*}", self._elsewhere)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        self._loop.run_until_complete(site.start())
        self._ready.set()
        self._loop.run_forever()

    async def _token(self, request: web.Request) -> web.Response:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        form = await request.post()
        if self.public_key is not None:
            if form.get("client_assertion_type") != JWT_BEARER:
                return web.json_response({"error": "invalid_client"}, status=401)
            assertion = str(form.get("client_assertion"))
            try:
                claims = jwt.decode(
                    assertion,
                    self.public_key,
                    algorithms=["RS384", "ES384"],
                    audience=self.token_url,
                    issuer=CLIENT_ID,
                )
            except jwt.InvalidTokenError:
                return web.json_response({"error": "invalid_client"}, status=401)
            self.assertions.append(
                {**claims, "kid": jwt.get_unverified_header(assertion).get("kid")}
            )
        elif request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response({"error": "invalid_client"}, status=401)
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        self.tokens_issued += 1
        return web.json_response(
            {"access_token": ACCESS_TOKEN, "token_type": "bearer", "expires_in": 300}
        )

    def _seen(self, request: web.Request) -> None:
        self.requests.append(
            Seen(request.path, dict(request.query), request.headers.get("Authorization"))
        )

    async def _elsewhere(self, request: web.Request) -> web.Response:
        self._seen(request)
        return web.json_response({"resourceType": "OperationOutcome"}, status=404)

    async def _read(self, request: web.Request) -> web.Response:
        self._seen(request)
        if request.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            return web.json_response({"resourceType": "OperationOutcome"}, status=401)
        location = self.redirects.get(request.match_info["id"])
        if location is not None:
            raise web.HTTPFound(location)
        resource = self.resources.get(request.match_info["id"])
        if resource is None:
            return web.json_response({"resourceType": "OperationOutcome"}, status=404)
        # like a server that ignores _elements: the boundary must still drop the rest
        return web.json_response(resource, content_type="application/fhir+json")
