"""The core decides, instrumentors read: layering rules the linter and grep can check."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IDENTITY_NAMES = re.compile(
    r"\b(SESSION_ID|USER_ID|GEN_AI_CONVERSATION_ID|GEN_AI_PREVIOUS_RESPONSE_ID|A2A_TASK_ID|A2A_TASK_STATE|"
    r"GEN_AI_RESPONSE_ID|A2A_MESSAGE_ID|ARTIFACT_ID|A2A_REFERENCE_TASK_IDS|RUN_ID|PARENT_RUN_ID|AGENT_SESSION_ID|"
    r"CONTINUATION_ISSUED|CONTINUATION_RESUMED|CHECKPOINT_ID|CHECKPOINT_RESUMED|PENDING_REQUESTS_\w+)\b"
    r"|[\"'](session\.id|gen_ai\.conversation\.id|a2a\.task\.id|a2a\.task\.state|otel_identity\.run\.id)[\"']"
)


def test_every_private_core_module_is_banned_outside_the_core() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = pyproject.split("[tool.ruff.lint.flake8-tidy-imports.banned-api]", 1)[1].split("\n[", 1)[0]
    banned = set(re.findall(r'^"(otel_identity\._\w+)"\.msg', section, flags=re.MULTILINE))
    private = {
        f"otel_identity.{path.stem}"
        for path in (ROOT / "otel_identity").glob("_*.py")
        if path.stem not in ("__init__", "__main__")
    }
    assert private - banned == set(), "add these to [tool.ruff.lint.flake8-tidy-imports.banned-api]"


def test_no_instrumentor_writes_an_identity_attribute() -> None:
    """Identity attribute names appear in instrumentors only in docs: placement is the core's."""
    offenders = []
    for path in sorted((ROOT / "instrumentation").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            stripped = code.strip()
            if stripped.startswith(('"', "'", "*", "``", ":")) or not stripped:
                continue  # docstring lines
            if IDENTITY_NAMES.search(code) and "_TELEMETRY_CONVERSATION_ID" not in code:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {stripped}")
    assert offenders == []
