"""Identity baggage over real HTTP: instrumented httpx and requests clients, an ASGI peer, a raw third party.

The peer (Starlette behind opentelemetry-instrumentation-asgi's ``OpenTelemetryMiddleware``)
runs on 127.0.0.1; the model-API stand-in is a plain ``http.server`` on 127.0.0.2. The
destination is known at inject time because the HTTP client instrumentations inject inside
the CLIENT span they start with the URL (checked here for both, with every trusted-peer form).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import requests
from cross_peers import PEER_SCOPE, AsgiPeer, RawPeer, SpanWait, attached, baggage_members
from opentelemetry import baggage, trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

import otel_identity as oi
from otel_identity import attributes as attr
from otel_identity._settings import InboundIdentity

CLIENTS = ("httpx", "httpx-async", "requests")


def get(client: str, url: str, tag: str, headers: dict[str, str] | None = None) -> Any:
    """GET ``url`` with ``client`` in the current context; the ``x-test`` header tags the request."""
    sent = {"x-test": tag, **(headers or {})}
    if client == "httpx":
        return httpx.get(url, headers=sent).json()
    if client == "httpx-async":

        async def fetch() -> Any:
            async with httpx.AsyncClient() as session:
                return (await session.get(url, headers=sent)).json()

        return asyncio.run(fetch())  # the task copies the current context: the scope is in it
    response = requests.get(url, headers=sent, timeout=10)
    if response.headers.get("content-type") == "application/json":
        return response.json()
    return response.text


@contextmanager
def app_context(session_id: str, **scope: Any) -> Iterator[trace.Span]:
    """A session scope with another library's baggage (``tenant``) and a parent span, as an app would have."""
    tracer = trace.get_tracer("cross-service-app")
    with attached(baggage.set_baggage("tenant", "acme")), oi.session_scope(session_id, **scope):
        with tracer.start_as_current_span("app.run") as span:
            yield span


def server_span(span_wait: SpanWait, trace_id: int, path: str = "/echo") -> ReadableSpan:
    """The peer's SERVER span (opentelemetry-instrumentation-asgi) of the request in ``trace_id``."""
    return span_wait.until(
        lambda span: (
            span.kind is SpanKind.SERVER
            and span.context is not None
            and span.context.trace_id == trace_id
            and path in span.name
        )
    )


def handler_span(span_wait: SpanWait, tag: str) -> ReadableSpan:
    return span_wait.until(
        lambda span: (
            span.instrumentation_scope is not None
            and span.instrumentation_scope.name == PEER_SCOPE
            and (span.attributes or {}).get("test.tag") == tag
        )
    )


@pytest.mark.parametrize("client", CLIENTS)
def test_trusted_peer_gets_the_session_a_model_api_gets_none_of_our_keys(
    client: str, peer: AsgiPeer, model_api: RawPeer, http_clients: None, trust: Any, span_wait: SpanWait
) -> None:
    trust([f"127.0.0.1:{peer.port}"])
    session = f"sess-{client}"
    with app_context(session, user_id="u-7") as run:
        answer = get(client, f"{peer.base_url}/echo", f"trusted-{client}")
        get(client, f"{model_api.base_url}/v1/chat", f"model-{client}")
    trace_id = run.get_span_context().trace_id

    sent_to_peer = baggage_members(peer.headers(f"trusted-{client}"))
    assert sent_to_peer == {attr.SESSION_ID: session, "tenant": "acme"}  # no user.id: not opted in
    assert f"{trace_id:032x}" in peer.headers(f"trusted-{client}", "traceparent")[0]

    sent_to_model = baggage_members(model_api.headers(f"model-{client}"))
    assert sent_to_model == {"tenant": "acme"}
    assert f"{trace_id:032x}" in model_api.headers(f"model-{client}", "traceparent")[0]

    # The receiving side: the handler's scope, its spans, and baggage without the raw claim.
    assert answer == {"session": session, "user": None, "baggage": {"tenant": "acme"}}
    assert server_span(span_wait, trace_id).attributes[attr.SESSION_ID] == session  # type: ignore[index]
    work = handler_span(span_wait, f"trusted-{client}")
    assert work.attributes is not None and work.attributes[attr.SESSION_ID] == session
    assert attr.USER_ID not in work.attributes


def test_the_hook_accepts_only_authenticated_callers(
    peer: AsgiPeer, http_clients: None, trust: Any, span_wait: SpanWait
) -> None:
    seen: list[InboundIdentity] = []

    def only_authenticated(claim: InboundIdentity) -> bool:
        seen.append(claim)
        return claim.header("authorization") == ["Bearer caller-7"]

    trust([f"127.0.0.1:{peer.port}"], accept_inbound=only_authenticated)
    with app_context("sess-hook") as run:
        accepted = get("httpx", f"{peer.base_url}/echo", "hook-auth", {"Authorization": "Bearer caller-7"})
        with trace.get_tracer("cross-service-app").start_as_current_span("second") as second:
            rejected = get("requests", f"{peer.base_url}/echo", "hook-anonymous")

    assert [claim.session_id for claim in seen] == ["sess-hook", "sess-hook"]
    # Both requests carried the claim (the client trusts the peer); only one was accepted.
    assert baggage_members(peer.headers("hook-anonymous"))[attr.SESSION_ID] == "sess-hook"
    assert accepted["session"] == "sess-hook"
    assert rejected["session"] is None and rejected["baggage"] == {"tenant": "acme"}
    assert server_span(span_wait, run.get_span_context().trace_id).attributes[attr.SESSION_ID] == "sess-hook"  # type: ignore[index]
    client_span_id = _client_span_id(span_wait, second)
    anonymous_span = span_wait.until(
        lambda span: span.kind is SpanKind.SERVER and span.parent is not None and span.parent.span_id == client_span_id
    )
    assert attr.SESSION_ID not in (anonymous_span.attributes or {})
    assert attr.SESSION_ID not in (handler_span(span_wait, "hook-anonymous").attributes or {})


def _client_span_id(span_wait: SpanWait, parent: trace.Span) -> int:
    """Span id of the HTTP CLIENT span started under ``parent``."""
    client = span_wait.until(
        lambda span: (
            span.kind is SpanKind.CLIENT
            and span.parent is not None
            and span.parent.span_id == parent.get_span_context().span_id
        )
    )
    assert client.context is not None
    return int(client.context.span_id)


def test_a_raising_or_non_bool_hook_rejects_and_never_breaks_the_request(
    peer: AsgiPeer, trust: Any, span_wait: SpanWait
) -> None:
    def broken(claim: InboundIdentity) -> bool:
        raise RuntimeError("hook bug")

    trust([f"127.0.0.1:{peer.port}"], accept_inbound=broken)
    headers = {"x-test": "hook-raises", "baggage": "session.id=forged-1"}
    answer = httpx.get(f"{peer.base_url}/echo", headers=headers).json()
    assert answer == {"session": None, "user": None, "baggage": {}}

    trust([f"127.0.0.1:{peer.port}"], accept_inbound=lambda claim: "yes")  # truthy, but not True
    headers = {"x-test": "hook-truthy", "baggage": "session.id=forged-2"}
    assert httpx.get(f"{peer.base_url}/echo", headers=headers).json()["session"] is None


def test_inbound_default_accepts_any_callers_session_but_never_user_id_unless_opted_in(
    peer: AsgiPeer, trust: Any, span_wait: SpanWait
) -> None:
    """The default (``accept``) and its risk: any caller can label this service's spans with a session."""
    trust([])  # this service trusts no destination; inbound acceptance is separate
    forged = {"x-test": "forged", "baggage": "session.id=someone-elses-session,user.id=u-victim,tenant=t"}
    answer = httpx.get(f"{peer.base_url}/echo", headers=forged).json()  # uninstrumented: headers as given
    assert answer == {"session": "someone-elses-session", "user": None, "baggage": {"tenant": "t"}}
    work = handler_span(span_wait, "forged")
    assert work.attributes is not None and work.attributes[attr.SESSION_ID] == "someone-elses-session"
    assert attr.USER_ID not in work.attributes

    trust([], baggage_user_id=True)
    forged["x-test"] = "forged-user"
    assert httpx.get(f"{peer.base_url}/echo", headers=forged).json()["user"] == "u-victim"

    from otel_identity._settings import _reject_all

    trust([], accept_inbound=_reject_all)  # what OTEL_IDENTITY_INBOUND=ignore selects
    forged["x-test"] = "forged-ignored"
    assert httpx.get(f"{peer.base_url}/echo", headers=forged).json() == {
        "session": None,
        "user": None,
        "baggage": {"tenant": "t"},
    }


def test_user_id_crosses_only_when_opted_in(peer: AsgiPeer, http_clients: None, trust: Any) -> None:
    trust([f"127.0.0.1:{peer.port}"], baggage_user_id=True)
    with app_context("sess-user", user_id="u-42"):
        answer = get("requests", f"{peer.base_url}/echo", "user-opt-in")
    assert baggage_members(peer.headers("user-opt-in"))[attr.USER_ID] == "u-42"
    assert answer["session"] == "sess-user" and answer["user"] == "u-42"


@pytest.mark.parametrize(
    ("entry", "trusted"),
    [
        ("127.0.0.1:{port}", True),
        ("127.0.0.1", True),
        ("http://127.0.0.1:{port}/echo", True),
        ("http://127.0.0.1:{port}/", True),
        ("127.0.0.1:1", False),
        ("127.0.0.2", False),
        ("http://127.0.0.1:{port}/ech", False),
        ("https://127.0.0.1:{port}/", False),
        ("localhost", False),
    ],
)
def test_each_trusted_peer_form_over_real_http(
    entry: str, trusted: bool, peer: AsgiPeer, http_clients: None, trust: Any
) -> None:
    trust([entry.format(port=peer.port)])
    tag = f"form-{entry}"
    with app_context("sess-form"):
        get("httpx", f"{peer.base_url}/echo?x=1", tag)
    members = baggage_members(peer.headers(tag))
    assert members.get(attr.SESSION_ID) == ("sess-form" if trusted else None)
    assert members["tenant"] == "acme"


def test_httpx_redirect_from_a_trusted_peer_to_another_host_carries_no_identity(
    peer: AsgiPeer, model_api: RawPeer, http_clients: None, trust: Any
) -> None:
    """httpx re-sends the first hop's headers on a redirect; the second hop's injection strips our keys."""
    trust([f"127.0.0.1:{peer.port}"])
    target = f"{model_api.base_url}/landing"
    with oi.session_scope("sess-redirect"):  # no other baggage: nothing would overwrite a stale header
        response = httpx.get(
            f"{peer.base_url}/redirect", params={"to": target}, headers={"x-test": "redir"}, follow_redirects=True
        )
    assert response.status_code == 200
    assert baggage_members(peer.headers("redir")) == {attr.SESSION_ID: "sess-redirect"}
    assert model_api.headers("redir") == []
    assert model_api.headers("redir", "traceparent")


class _NoIdentityOnRedirect(requests.Session):
    """The documented workaround for requests: drop ``baggage`` when a redirect leaves the host, like auth."""

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        super().rebuild_auth(prepared_request, response)
        if self.should_strip_auth(response.request.url, prepared_request.url):  # type: ignore[arg-type]
            prepared_request.headers.pop("baggage", None)


def test_requests_redirects_resend_the_first_hops_headers_unless_the_session_strips_them(
    peer: AsgiPeer, model_api: RawPeer, http_clients: None, trust: Any
) -> None:
    """Known limit of opentelemetry-instrumentation-requests 0.66b2, documented in the security section.

    It suppresses itself around ``Session.send``, so redirect hops are neither traced nor
    injected: the first hop's ``baggage`` header (with the session, sent to the trusted peer)
    goes on to the redirect target. This fails when upstream changes that; then update the docs.
    """
    trust([f"127.0.0.1:{peer.port}"])
    target = f"{model_api.base_url}/landing"
    with oi.session_scope("sess-requests-redirect"):
        requests.get(f"{peer.base_url}/redirect", params={"to": target}, headers={"x-test": "rq-plain"}, timeout=10)
        with _NoIdentityOnRedirect() as session:
            session.get(f"{peer.base_url}/redirect", params={"to": target}, headers={"x-test": "rq-fixed"}, timeout=10)
    assert baggage_members(model_api.headers("rq-plain")) == {attr.SESSION_ID: "sess-requests-redirect"}
    assert baggage_members(peer.headers("rq-fixed")) == {attr.SESSION_ID: "sess-requests-redirect"}
    assert model_api.headers("rq-fixed") == []


def test_injection_inside_a_server_span_is_not_sent_to_that_server(
    peer: AsgiPeer, http_clients: None, trust: Any
) -> None:
    """A handler injecting without a client span (as agent-framework does into MCP ``_meta``) has no destination.

    The current span there is the SERVER span, whose ``http.url`` is this very (trusted) service.
    """
    trust([f"127.0.0.1:{peer.port}"])
    with app_context("sess-inside"):
        answer = get("httpx", f"{peer.base_url}/inject", "inject")
    assert answer["session"] == "sess-inside"  # the caller's claim was accepted...
    assert "traceparent" in answer["carrier"]
    assert baggage_members([answer["carrier"]["baggage"]]) == {"tenant": "acme"}  # ...but goes nowhere unknown


def test_an_explicit_destination_never_makes_a_call_to_another_host_trusted(
    peer: AsgiPeer, model_api: RawPeer, http_clients: None, trust: Any
) -> None:
    trust([f"127.0.0.1:{peer.port}"])
    with app_context("sess-explicit"), attached(oi.set_destination(peer.base_url)):
        get("httpx", f"{model_api.base_url}/v1/chat", "explicit-conflict")
        get("requests", f"{peer.base_url}/echo", "explicit-agrees")
    assert baggage_members(model_api.headers("explicit-conflict")) == {"tenant": "acme"}
    assert baggage_members(peer.headers("explicit-agrees"))[attr.SESSION_ID] == "sess-explicit"


def test_an_unsampled_request_carries_identity_only_with_an_explicit_destination(
    peer: AsgiPeer, http_clients: None, trust: Any
) -> None:
    """A sampled-out client span keeps no attributes, so its destination is unknown (fail closed)."""
    trust([f"127.0.0.1:{peer.port}"])
    unsampled = NonRecordingSpan(
        SpanContext(trace_id=0x1234, span_id=0x5678, is_remote=True, trace_flags=TraceFlags(TraceFlags.DEFAULT))
    )
    with oi.session_scope("sess-unsampled"), trace.use_span(unsampled):
        get("httpx", f"{peer.base_url}/echo", "unsampled")
        with attached(oi.set_destination(peer.base_url)):
            get("httpx", f"{peer.base_url}/echo", "unsampled-named")
    assert baggage_members(peer.headers("unsampled")) == {}
    assert baggage_members(peer.headers("unsampled-named")) == {attr.SESSION_ID: "sess-unsampled"}
