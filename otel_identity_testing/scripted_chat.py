"""A deterministic, local chat client for agent-framework: the demo's and the tests' "LLM".

It subclasses agent-framework's own layers exactly like the framework's real clients
(``OpenAIChatClient`` is ``ChatMiddlewareLayer, FunctionInvocationLayer, ChatTelemetryLayer,
Raw...Client``), so the framework's chat telemetry, tool loop and middleware wrap it as they
wrap a real model. Nothing goes over the network; every id is counter-based per client
instance, so two runs of the same script produce the same ids.

Usage
-----
::

    from agent_framework import Agent, tool
    from otel_identity_testing.scripted_chat import Rule, ScriptedChatClient

    @tool
    def get_weather(city: str) -> str:
        return f"sunny in {city}"

    client = ScriptedChatClient(
        mode="responses",
        rules=[
            Rule("weather", tool="get_weather", arguments={"city": "Paris"}, answer="Forecast: {result}"),
            Rule("overloaded", raises=RuntimeError("model overloaded")),
            Rule("hello", answer="Hi, how can I help?"),
        ],
    )
    agent = Agent(client, name="concierge", tools=[get_weather])
    session = agent.create_session()
    print(await agent.run("What is the weather?", session=session))   # calls the tool, then answers
    async for update in agent.run("hello", session=session, stream=True):  # several streamed updates
        print(update.text, end="")

Modes (how the "service" keeps the conversation)
------------------------------------------------
``"responses"``
    A response-chaining service (OpenAI Responses with ``store=True``): every response gets
    ``response_id="resp_<n>"`` and reports that same id as its ``conversation_id``, so the
    framework stores ``session.service_session_id = "resp_<n>"`` and sends it back as the
    conversation (previous response) on the next turn. The handle rotates every turn.
``"conversation"``
    A conversation service (OpenAI Conversations, threads): a stable ``conv_<n>`` is created
    on the first call without one (or use :meth:`ScriptedChatClient.create_conversation`
    first, as with a real service) and reported on every response; each response still gets
    its own ``resp_<n>``. A conversation id it did not issue (not ``conv_*``) starts a new one.
``"local"``
    A stateless completions service: responses get ``chatcmpl-<n>`` ids and no conversation
    id, so the framework keeps the history locally (``InMemoryHistoryProvider``).

Scripting
---------
:class:`Rule` objects are tried in order against the text of the last user message; the
first match decides the answer. Without a match, ``default_answer`` is used. A rule can

* answer with text (``answer="..."``; ``{message}`` is replaced by the user's text),
* call a tool (``tool=`` name, ``arguments=`` mapping or a function of the user's text),
  after which the next model call, carrying the tool result, answers with ``answer``
  (``{result}`` is replaced by the tool's result),
* raise (``raises=`` an exception instance, raised when the request is executed: on
  ``await`` for non-streaming calls, on the first pull for streaming ones),
* wait (``gate=`` an :class:`asyncio.Event` the answer waits for, so tests can hold a run
  in flight without sleeping).

Streaming responses are split into several updates (``chunk_words`` words each) followed by
a final update carrying the finish reason and token usage.

Background responses (OpenAI style): with the option ``background=True`` the call returns
at once an in-progress response (no content) whose ``continuation_token`` is
``{"response_id": "resp_<n>"}``; a later call with ``options={"continuation_token": token}``
returns the finished answer under the same response id. (Not in ``"local"`` mode.)

Every request the client receives is kept in :attr:`ScriptedChatClient.requests`
(:class:`ScriptedRequest`), so a test can check what the framework actually sent, such as the
previous response id.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, cast

from agent_framework import (
    BaseChatClient,
    ChatMiddlewareLayer,
    ChatResponse,
    ChatResponseUpdate,
    Content,
    ContinuationToken,
    FunctionInvocationLayer,
    Message,
    ResponseStream,
    UsageDetails,
)
from agent_framework.observability import ChatTelemetryLayer

__all__ = ["Mode", "Rule", "ScriptedChatClient", "ScriptedRequest"]

Mode = Literal["responses", "conversation", "local"]
"""How the scripted service keeps conversation state (see the module docstring)."""

Matcher = str | re.Pattern[str] | Callable[[str], bool]
Arguments = Mapping[str, Any] | Callable[[str], Mapping[str, Any]]


@dataclass(frozen=True)
class Rule:
    """One scripted behaviour, chosen when ``match`` matches the last user message.

    ``match`` is a case-insensitive substring, a compiled regular expression (searched), or
    a predicate on the text.
    """

    match: Matcher
    answer: str | None = None
    """Text answer; ``{message}`` = the user's text, ``{result}`` = the tool result (after a tool call)."""
    tool: str | None = None
    """Name of a tool to call before answering."""
    arguments: Arguments | None = None
    """Tool arguments: a mapping, or a function of the user's text returning one."""
    raises: BaseException | None = None
    """Exception raised when the request is executed."""
    gate: asyncio.Event | None = None
    """Event the answer waits for (set it from the test to let the run finish)."""

    def matches(self, text: str) -> bool:
        """Whether this rule applies to the user's ``text``."""
        if isinstance(self.match, str):
            return self.match.lower() in text.lower()
        if isinstance(self.match, re.Pattern):
            return self.match.search(text) is not None
        return bool(self.match(text))


@dataclass(frozen=True)
class ScriptedRequest:
    """What the framework sent in one model call."""

    messages: tuple[Message, ...]
    conversation_id: str | None
    """The ``conversation_id`` option received: a previous ``resp_*``, a ``conv_*``, or ``None``."""
    stream: bool
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def last_user_text(self) -> str:
        """Text of the last user message in this request ('' if none)."""
        return _last_user_text(self.messages)


@dataclass(frozen=True)
class _Plan:
    """What one model call answers: text or a tool call, with the ids it reports."""

    response_id: str
    conversation_id: str | None
    message_id: str
    text: str | None = None
    call: Content | None = None
    raises: BaseException | None = None
    gate: asyncio.Event | None = None
    input_tokens: int = 0
    in_progress: bool = False


def _last_user_text(messages: Sequence[Message]) -> str:
    for message in reversed(messages):
        if message.role == "user":
            return message.text or ""
    return ""


def _pending_function_result(messages: Sequence[Message]) -> Content | None:
    """The function result the last message carries, if the model is being called back with one."""
    if not messages:
        return None
    for content in messages[-1].contents:
        if content.type == "function_result":
            return content
    return None


def _count_words(messages: Sequence[Message]) -> int:
    return sum(len((message.text or "").split()) for message in messages)


class ScriptedChatClient(  # type: ignore[misc]
    ChatMiddlewareLayer[Any],
    FunctionInvocationLayer[Any],
    ChatTelemetryLayer[Any],
    BaseChatClient[Any],
):
    """Deterministic chat client; see the module docstring for modes and scripting."""

    OTEL_PROVIDER_NAME: ClassVar[str] = "scripted"

    def __init__(
        self,
        *,
        mode: Mode = "responses",
        rules: Sequence[Rule] = (),
        default_answer: str = "You said: {message}",
        model: str = "scripted-model-1",
        chunk_words: int = 2,
        **kwargs: Any,
    ) -> None:
        if mode not in ("responses", "conversation", "local"):
            raise ValueError(f"mode must be 'responses', 'conversation' or 'local', got {mode!r}")
        if chunk_words < 1:
            raise ValueError("chunk_words must be at least 1")
        super().__init__(**kwargs)
        self.mode: Mode = mode
        self.rules: list[Rule] = list(rules)
        self.default_answer = default_answer
        self.model = model
        self.chunk_words = chunk_words
        self.requests: list[ScriptedRequest] = []
        # A service that keeps the conversation stores history itself; the framework then
        # sends only new messages and does not add a local history provider.
        self.STORES_BY_DEFAULT = mode != "local"  # type: ignore[misc]
        self._lock = threading.Lock()
        self._counters: dict[str, int] = {}
        self._pending_calls: dict[str, Rule] = {}
        self._background: dict[str, _Plan] = {}

    # region ids

    def _next(self, kind: str) -> int:
        with self._lock:
            value = self._counters.get(kind, 0) + 1
            self._counters[kind] = value
            return value

    def create_conversation(self) -> str:
        """Create a conversation on the "service" (like OpenAI's ``conversations.create``); return its id."""
        return f"conv_{self._next('conv')}"

    def service_url(self) -> str:
        return "scripted://local"

    # endregion

    def _plan(self, messages: Sequence[Message], options: Mapping[str, Any]) -> _Plan:
        token = options.get("continuation_token")
        if isinstance(token, Mapping) and self.mode != "local":
            with self._lock:
                resumed = self._background.pop(str(token.get("response_id")), None)
            if resumed is None:
                raise ValueError(f"unknown or finished background response: {token.get('response_id')!r}")
            return resumed
        plan = self._answer(messages, options)
        if options.get("background") and self.mode != "local" and plan.raises is None:
            with self._lock:
                self._background[plan.response_id] = plan
            return dataclasses.replace(plan, in_progress=True, text=None, call=None, gate=None)
        return plan

    def _answer(self, messages: Sequence[Message], options: Mapping[str, Any]) -> _Plan:
        received = options.get("conversation_id")
        conversation_id = received if isinstance(received, str) and received else None
        if self.mode == "local":
            response_id = f"chatcmpl-{self._next('resp')}"
            reported: str | None = None
        else:
            response_id = f"resp_{self._next('resp')}"
            if self.mode == "responses":
                reported = response_id
            else:
                reported = (
                    conversation_id
                    if conversation_id and conversation_id.startswith("conv_")
                    else self.create_conversation()
                )
        message_id = f"msg_{self._next('msg')}"
        input_tokens = _count_words(messages)

        result = _pending_function_result(messages)
        if result is not None:
            with self._lock:
                rule = self._pending_calls.pop(result.call_id or "", None)
            template = (rule.answer if rule is not None else None) or "{result}"
            return _Plan(
                response_id,
                reported,
                message_id,
                text=template.format(result=_result_text(result), message=_last_user_text(messages)),
                gate=rule.gate if rule is not None else None,
                input_tokens=input_tokens,
            )

        text = _last_user_text(messages)
        rule = next((candidate for candidate in self.rules if candidate.matches(text)), None)
        if rule is None:
            return _Plan(
                response_id,
                reported,
                message_id,
                text=self.default_answer.format(message=text, result=""),
                input_tokens=input_tokens,
            )
        if rule.raises is not None:
            return _Plan(response_id, reported, message_id, raises=rule.raises, gate=rule.gate)
        if rule.tool is not None:
            call_id = f"call_{self._next('call')}"
            raw_arguments = rule.arguments(text) if callable(rule.arguments) else (rule.arguments or {})
            with self._lock:
                self._pending_calls[call_id] = rule
            call = Content.from_function_call(call_id, rule.tool, arguments=json.dumps(dict(raw_arguments)))
            return _Plan(response_id, reported, message_id, call=call, input_tokens=input_tokens)
        return _Plan(
            response_id,
            reported,
            message_id,
            text=(rule.answer or "").format(message=text, result=""),
            gate=rule.gate,
            input_tokens=input_tokens,
        )

    def _inner_get_response(
        self,
        *,
        messages: Sequence[Message],
        stream: bool,
        options: Mapping[str, Any],
        **kwargs: Any,
    ) -> Awaitable[ChatResponse] | ResponseStream[ChatResponseUpdate, ChatResponse]:
        received = options.get("conversation_id")
        self.requests.append(
            ScriptedRequest(
                messages=tuple(messages),
                conversation_id=received if isinstance(received, str) else None,
                stream=stream,
                options=dict(options),
            )
        )
        plan = self._plan(messages, options)
        if stream:
            return self._build_response_stream(self._stream(plan), response_format=options.get("response_format"))
        return self._respond(plan)

    async def _respond(self, plan: _Plan) -> ChatResponse:
        if plan.gate is not None:
            await plan.gate.wait()
        if plan.raises is not None:
            raise plan.raises
        if plan.in_progress:
            return ChatResponse(
                messages=[],
                response_id=plan.response_id,
                conversation_id=plan.conversation_id,
                model=self.model,
                continuation_token=_token(plan.response_id),
            )
        contents = [plan.call] if plan.call is not None else [Content.from_text(plan.text or "")]
        return ChatResponse(
            messages=Message(role="assistant", contents=contents, message_id=plan.message_id),
            response_id=plan.response_id,
            conversation_id=plan.conversation_id,
            model=self.model,
            finish_reason="tool_calls" if plan.call is not None else "stop",
            usage_details=_usage(plan),
        )

    async def _stream(self, plan: _Plan) -> AsyncIterator[ChatResponseUpdate]:
        if plan.gate is not None:
            await plan.gate.wait()
        if plan.raises is not None:
            raise plan.raises
        common: dict[str, Any] = {
            "role": "assistant",
            "response_id": plan.response_id,
            "message_id": plan.message_id,
            "conversation_id": plan.conversation_id,
            "model": self.model,
        }
        if plan.in_progress:
            yield ChatResponseUpdate(
                contents=[],
                continuation_token=_token(plan.response_id),
                **common,
            )
            return
        if plan.call is not None:
            yield ChatResponseUpdate(contents=[plan.call], **common)
        else:
            words = (plan.text or "").split(" ")
            for start in range(0, len(words), self.chunk_words):
                chunk = " ".join(words[start : start + self.chunk_words])
                if start > 0:
                    chunk = " " + chunk
                yield ChatResponseUpdate(contents=[Content.from_text(chunk)], **common)
                # Let other tasks run between chunks, as a network stream would.
                await asyncio.sleep(0)
        yield ChatResponseUpdate(
            contents=[Content.from_usage(_usage(plan))],
            finish_reason="tool_calls" if plan.call is not None else "stop",
            **common,
        )


def _result_text(result: Content) -> str:
    value = result.result
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, Content) for item in value):
        return "".join(item.text or "" for item in value)
    return json.dumps(value, default=str)


def _token(response_id: str) -> ContinuationToken:
    """An OpenAI-style continuation token: ``{"response_id": ...}``."""
    return cast(ContinuationToken, {"response_id": response_id})


def _usage(plan: _Plan) -> UsageDetails:
    output = len((plan.text or "").split()) if plan.call is None else 1
    return UsageDetails(
        input_token_count=plan.input_tokens,
        output_token_count=output,
        total_token_count=plan.input_tokens + output,
    )
