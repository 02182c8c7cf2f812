"""The flights service: an agent-framework ``Agent`` hosted over A2A (``python -m otel_identity_demo.flights``).

Its model is scripted (:func:`otel_identity_demo.script.flights_rules`): it calls its
``search_flights`` tool, fails for Atlantis, and works on an "every flight" search until the
task is cancelled.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from otel_identity_demo._hosting import serve_agent

__all__ = ["main"]

SERVICE = "flights"


def _executor() -> Any:
    from agent_framework import Agent, tool
    from agent_framework_a2a import A2AExecutor

    from otel_identity_demo.script import FLIGHTS_DEFAULT, flights_rules, search_flights
    from otel_identity_testing.scripted_chat import ScriptedChatClient

    client = ScriptedChatClient(mode="local", rules=flights_rules(), default_answer=FLIGHTS_DEFAULT)
    agent = Agent(client, name=SERVICE, instructions="Find and change flights.", tools=[tool(search_flights)])
    return A2AExecutor(agent)


def main(argv: Sequence[str] | None = None) -> int:
    return serve_agent(
        SERVICE,
        description="Finds and changes flights.",
        skill="Search flights and change bookings.",
        executor=_executor,
        argv=argv,
    )


if __name__ == "__main__":
    sys.exit(main())
