"""otel-identity: put each agent identity where its lifetime says.

Usage
-----
Zero code::

    OTEL_SERVICE_NAME=concierge OTEL_PROPAGATORS=tracecontext,otel_identity \\
        opentelemetry-instrument python app.py

One call::

    import otel_identity

    otel_identity.configure(service_name="concierge", instrument=True)

Frameworks without a session object::

    with otel_identity.session_scope("session-42", user_id="u-7"):
        with otel_identity.run_scope() as run:
            ...  # every span started here carries session.id, gen_ai.conversation.id, run id

Configuration
-------------
Standard ``OTEL_*`` variables, plus those in :mod:`otel_identity.environment_variables`
(``OTEL_IDENTITY_TRUSTED_PEERS``, ``OTEL_IDENTITY_BAGGAGE_USER_ID``, ``OTEL_IDENTITY_INBOUND``).

API
---
Where each identity goes is :data:`otel_identity.placement.PLACEMENTS`; attribute names are
in :mod:`otel_identity.attributes`. Everything public is in ``__all__`` below.
"""

from __future__ import annotations

from otel_identity._configure import add_identity_processor, configure
from otel_identity._identities import Identities, TaskHandle, get_identities, set_identities
from otel_identity._logs import IdentityLogRecordProcessor, add_identity_log_processor
from otel_identity._processor import IdentitySpanProcessor
from otel_identity._propagator import IdentityBaggagePropagator
from otel_identity._recording import record_continuation, record_nested_run, record_request, record_result
from otel_identity._sampling import SessionRatioSampler, session_sampler
from otel_identity._scopes import (
    bind_async_iterable,
    bind_iterable,
    conversation_scope,
    destination_scope,
    new_run_id,
    run_scope,
    session_scope,
    set_conversation,
    set_run,
    set_session,
    set_task,
    task_scope,
)
from otel_identity._settings import InboundIdentity
from otel_identity._stamping_sampler import IdentityStampingSampler
from otel_identity._trust import TrustedPeers, set_destination, set_local_destination
from otel_identity._validation import MAX_ID_LENGTH
from otel_identity._workflow_recording import record_checkpoint, record_pending_requests
from otel_identity.version import __version__

__all__ = [
    "MAX_ID_LENGTH",
    "Identities",
    "IdentityBaggagePropagator",
    "IdentityLogRecordProcessor",
    "IdentitySpanProcessor",
    "IdentityStampingSampler",
    "InboundIdentity",
    "SessionRatioSampler",
    "TaskHandle",
    "TrustedPeers",
    "__version__",
    "add_identity_log_processor",
    "add_identity_processor",
    "bind_async_iterable",
    "bind_iterable",
    "configure",
    "conversation_scope",
    "destination_scope",
    "get_identities",
    "new_run_id",
    "record_checkpoint",
    "record_continuation",
    "record_nested_run",
    "record_pending_requests",
    "record_request",
    "record_result",
    "run_scope",
    "session_sampler",
    "session_scope",
    "set_destination",
    "set_local_destination",
    "set_conversation",
    "set_identities",
    "set_run",
    "set_session",
    "set_task",
    "task_scope",
]
