"""The hotels service: an agent-framework ``Agent`` hosted over A2A (``python -m otel_identity_demo.hotels``).

It streams its answers (``A2AExecutor(stream=True)``). A request without dates is not sent
to the model: the service asks for them first (task ``INPUT_REQUIRED``), as a booking form
would, and the caller's next message continues that same task.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from otel_identity_demo._hosting import serve_agent

__all__ = ["main"]

SERVICE = "hotels"


def _executor() -> Any:
    from a2a.helpers import new_task_from_user_message
    from a2a.server.agent_execution import RequestContext
    from a2a.server.events import EventQueue
    from a2a.server.tasks import TaskUpdater
    from a2a.types import Part, TaskState
    from agent_framework import Agent
    from agent_framework_a2a import A2AExecutor

    from otel_identity_demo._logging import demo_logger
    from otel_identity_demo.script import HOTELS_DEFAULT, HOTELS_QUESTION, has_dates, hotels_rules
    from otel_identity_testing.scripted_chat import ScriptedChatClient

    class HotelsExecutor(A2AExecutor):  # type: ignore[misc]
        """Asks for the dates before the agent runs, unless the request has them or answers the question."""

        async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
            task = context.current_task
            continuing = task is not None and task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
            if continuing or context.message is None or has_dates(context.get_user_input()):
                await super().execute(context, event_queue)
                return
            if task is None:
                task = new_task_from_user_message(context.message)
                await event_queue.enqueue_event(task)
            updater = TaskUpdater(event_queue, task.id, task.context_id)
            await updater.start_work()
            demo_logger(SERVICE).warning("request for task %s has no dates: asking for them", task.id)
            await updater.requires_input(updater.new_agent_message([Part(text=HOTELS_QUESTION)]))

    client = ScriptedChatClient(mode="local", rules=hotels_rules(), default_answer=HOTELS_DEFAULT)
    agent = Agent(client, name=SERVICE, instructions="Reserve hotel rooms.")
    return HotelsExecutor(agent, stream=True)


def main(argv: Sequence[str] | None = None) -> int:
    return serve_agent(
        SERVICE,
        description="Reserves hotel rooms.",
        skill="Reserve hotel rooms for given dates.",
        executor=_executor,
        argv=argv,
    )


if __name__ == "__main__":
    sys.exit(main())
