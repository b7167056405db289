"""Figures for docs/reliability.md, recorded by the reliability tests of a real run.

Nothing is written unless FOAS_FIGURES names a file: then every call appends one
JSON line, and `python tests/_figures.py FILE` sums them up. The figures in
docs/reliability.md come from such a run, never from memory.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from typing import Any


def record(kind: str, **data: Any) -> None:
    path = os.environ.get("FOAS_FIGURES")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"kind": kind, **data}, sort_keys=True) + "\n")


def summarise(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    kinds = Counter(r["kind"] for r in rows)
    faults = [r for r in rows if r["kind"] == "fault"]
    soak = [r for r in rows if r["kind"] == "soak"]
    return {
        "bad_inputs_rejected": kinds["bad_input"],
        "bad_inputs_sent_to_network": sum(r.get("requests", 0) for r in rows if r["kind"] == "bad_input"),
        "bad_responses": kinds["bad_response"],
        "bad_responses_wrong_class": sum(1 for r in rows if r["kind"] == "bad_response" and not r["ok"]),
        "fault_scenarios": len(faults),
        "faults_injected": sum(r["injected"] for r in faults),
        "scenarios_survived": sum(1 for r in faults if r["outcome"] == "survived"),
        "scenarios_failed_with_right_error": sum(1 for r in faults if r["outcome"] == "error"),
        "partial_lists_returned_as_complete": sum(r.get("partial", 0) for r in faults),
        "consistency_scenarios": kinds["consistency"],
        "consistency_wrong_results": sum(r.get("wrong", 0) for r in rows if r["kind"] == "consistency"),
        "secret_grep_places": kinds["secret_grep"],
        "secret_grep_texts": sum(r.get("texts", 0) for r in rows if r["kind"] == "secret_grep"),
        "bad_response_requests": sum(r.get("requests", 0) for r in rows if r["kind"] == "bad_response"),
        "huge_body": [r for r in rows if r["kind"] == "huge_body"],
        "property_examples": sum(r.get("examples", 0) for r in rows if r["kind"] == "property"),
        "soak": soak,
    }


if __name__ == "__main__":
    print(json.dumps(summarise(sys.argv[1]), indent=2, sort_keys=True))
