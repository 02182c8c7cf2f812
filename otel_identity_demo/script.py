"""What happens in the demo: the users' conversations and what each service's scripted model answers.

Everything here is data (plus three tiny tools), so the demo is the same on every run and the
end-to-end tests can read what to expect from it. Only the ids differ between runs: trace,
task and context ids are random, session ids end with the run's tag.

The conversations, run concurrently (one asyncio task each):

``paris-trip``
    a flight (the concierge calls its ``ask_flights`` tool; the flights agent calls its own
    ``search_flights`` tool); a hotel without dates, so the hotels service asks for them
    (task ``INPUT_REQUIRED``); the dates in the next turn continue that same task; a change to
    the flight, answered as a stream, which refers to the first flight task
    (``reference_task_ids``).
``rome-weekend``
    a hotel with dates (hosted as a stream), a flight, and a thank-you the concierge answers
    itself.
``atlantis``
    a flight the flights model cannot find: its task fails; the next request refers to the
    failed task.
``tokyo-search``
    a long search started in the background; cancelled in the next turn; then a hotel.
``grand-tour``
    a multi-city trip: the concierge calls its ``plan_itinerary`` tool, which runs an
    agent-framework-orchestrations Sequential pipeline (a ``planner`` agent, which calls its
    own ``route`` tool, then a ``reviewer`` agent) as an agent, in the concierge's process;
    the next turn changes the order, in the same pipeline session.

The pipeline's two agents share one model, a chat-completions one (``chatcmpl-*`` ids: no
service-side conversation). The pipeline is built with ``ensure_trailing_user_turn``, so the
reviewer's last user message is the framework's "please continue." and the reviewer's rule
can tell its call from the planner's.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # the runner reads the conversations without the demo extra installed
    from otel_identity_testing.scripted_chat import Rule

__all__ = [
    "CONCIERGE_DEFAULT",
    "CONVERSATIONS",
    "FLIGHTS_DEFAULT",
    "HOTELS_DEFAULT",
    "HOTELS_QUESTION",
    "ITINERARY_DEFAULT",
    "PIPELINE",
    "PIPELINE_PARTICIPANTS",
    "Conversation",
    "Turn",
    "concierge_rules",
    "flights_rules",
    "has_dates",
    "hotels_rules",
    "itinerary_rules",
    "route",
    "search_flights",
    "session_id",
]


@dataclass(frozen=True)
class Turn:
    """One user message to the concierge."""

    text: str
    stream: bool = False
    """Whether the concierge streams its answer."""


@dataclass(frozen=True)
class Conversation:
    """One user's session with the concierge."""

    name: str
    user: str
    turns: tuple[Turn, ...]


CONVERSATIONS: Final = (
    Conversation(
        "paris-trip",
        "ada",
        (
            Turn("Find me a flight to Paris on May 3"),
            Turn("Book a hotel in Paris"),
            Turn("From May 3 to May 6"),
            Turn("Make the flight the morning one", stream=True),
        ),
    ),
    Conversation(
        "rome-weekend",
        "grace",
        (
            Turn("Hotel in Rome from June 12 to June 14", stream=True),
            Turn("And a flight to Rome on June 12"),
            Turn("Thanks, that's all"),
        ),
    ),
    Conversation(
        "atlantis",
        "alan",
        (
            Turn("Find me a flight to Atlantis"),
            Turn("Then a flight to Lisbon on July 1"),
        ),
    ),
    Conversation(
        "tokyo-search",
        "barbara",
        (
            Turn("Search every flight to Tokyo in August"),
            Turn("Never mind, cancel that search"),
            Turn("Hotel in Tokyo from August 3 to August 5", stream=True),
        ),
    ),
    Conversation(
        "grand-tour",
        "margaret",
        (
            Turn("Plan a trip to Paris and Rome in September"),
            Turn("Make the trip Rome first, then Paris", stream=True),
        ),
    ),
)
"""The demo's sessions, in the order they start."""


def session_id(conversation: Conversation, run_tag: str) -> str:
    """The ``session.id`` of ``conversation`` in the run tagged ``run_tag``."""
    return f"{conversation.name}-{run_tag}"


# region concierge

CONCIERGE_DEFAULT: Final = "You're welcome. Have a good trip!"


def _request(text: str) -> Mapping[str, str]:
    return {"request": text}


def concierge_rules() -> list[Rule]:
    """The concierge's model: delegate flights and hotels to the remote agents through its tools."""
    from otel_identity_testing.scripted_chat import Rule

    return [
        Rule(re.compile(r"\btrip\b", re.IGNORECASE), tool="plan_itinerary", arguments=_request, answer="{result}"),
        Rule(re.compile(r"\bcancel\b", re.IGNORECASE), tool="cancel_flight_search", arguments={}, answer="{result}"),
        Rule("every flight", tool="start_flight_search", arguments=_request, answer="{result}"),
        Rule(
            re.compile(r"hotel|^from\b", re.IGNORECASE),
            tool="ask_hotels",
            arguments=_request,
            answer="Hotels: {result}",
        ),
        Rule("flight", tool="ask_flights", arguments=_request, answer="Flights: {result}"),
    ]


# endregion

# region flights

FLIGHTS_DEFAULT: Final = "I can only help with flights."
_TIMETABLE: Final = {
    "paris": "AF 1381 at 09:40, 182 EUR",
    "rome": "AZ 609 at 07:05, 149 EUR",
    "lisbon": "TP 1359 at 11:25, 131 EUR",
    "tokyo": "NH 204 at 21:50, 912 EUR",
}
_DESTINATION: Final = re.compile(r"\bto ([A-Z][a-z]+)")

HOLD: Final = asyncio.Event()
"""Never set: the "every flight" search works until its task is cancelled."""


def _destination(text: str) -> Mapping[str, str]:
    found = _DESTINATION.search(text)
    return {"destination": found.group(1) if found else "nowhere"}


def search_flights(destination: str) -> str:
    """Search the timetable for a direct flight to ``destination``."""
    from otel_identity_demo._logging import demo_logger

    found = _TIMETABLE.get(destination.lower())
    if found is None:
        demo_logger("flights").warning("timetable has no direct flight to %s", destination)
    else:
        demo_logger("flights").info("timetable lookup for %s", destination)
    return f"{destination}: {found or 'no direct flight'}"


def flights_rules() -> list[Rule]:
    """The flights agent's model: a timetable tool, a change, a failure, and a search that never ends."""
    from otel_identity_testing.scripted_chat import Rule

    return [
        Rule("atlantis", raises=RuntimeError("no airport serves Atlantis")),
        Rule("every flight", gate=HOLD),
        Rule("morning", answer="Moved you to the 07:15 departure, same fare."),
        Rule("flight", tool="search_flights", arguments=_destination, answer="Best option: {result}."),
    ]


# endregion

# region hotels

HOTELS_DEFAULT: Final = "Room reserved ({message}); confirmation HX-1042 sent by e-mail."
HOTELS_QUESTION: Final = "For which dates?"
_DATES: Final = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}\b",
    re.IGNORECASE,
)


def has_dates(text: str) -> bool:
    """Whether a hotel request names its dates (the hotels service asks for them otherwise)."""
    return _DATES.search(text) is not None


def hotels_rules() -> list[Rule]:
    """The hotels agent's model: every request that reaches it has dates, and gets a room."""
    return []


# endregion

# region itinerary (the concierge's Sequential pipeline)

PIPELINE: Final = "itinerary"
"""The name of the pipeline run as an agent (``workflow.as_agent(PIPELINE)``)."""
PIPELINE_PARTICIPANTS: Final = ("planner", "reviewer")
"""The pipeline's agents, in the order they run."""
ITINERARY_DEFAULT: Final = "I can only help with itineraries."
_NIGHTS: Final = 3
_REVIEW: Final = "Reviewed: the order works; book the train between the cities early."


def _cities(text: str) -> Mapping[str, str]:
    """The cities of the timetable a request names, in the order it names them."""
    found = re.findall(r"\b(" + "|".join(city.title() for city in _TIMETABLE) + r")\b", text)
    return {"cities": ", ".join(dict.fromkeys(found))}


def route(cities: str) -> str:
    """A route through ``cities`` (comma-separated), in that order, with the nights in each."""
    stops = [city.strip() for city in cities.split(",") if city.strip()]
    return " -> ".join(f"{city} ({_NIGHTS} nights)" for city in stops) or "no city to visit"


def itinerary_rules() -> list[Rule]:
    """The pipeline's model: the planner routes the trip with its tool; the reviewer approves the plan."""
    from otel_identity_testing.scripted_chat import Rule

    return [
        Rule("please continue", answer=_REVIEW),
        Rule("trip", tool="route", arguments=_cities, answer="Plan: {result}."),
    ]


# endregion
