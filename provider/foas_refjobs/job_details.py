"""What a job's free-text fields hold: its deployed plan (PlanJson) and its run properties.

Read only when asked for (`Job.plan_nodes()`, `Job.properties_dict()`), so a
listing never loads this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

from .model import _as_int, _malformed


@dataclass(frozen=True)
class PlanEdge:
    id: int
    ship_strategy: Optional[str] = None
    side: Optional[str] = None


@dataclass(frozen=True)
class PlanNode:
    id: int
    type: Optional[str]
    parallelism: Optional[int]
    predecessors: tuple[PlanEdge, ...] = ()
    pact: Optional[str] = None
    contents: Optional[str] = None


def plan_nodes(job_id: str, plan_json: Optional[str]) -> tuple[PlanNode, ...]:
    """The nodes of one job's PlanJson; empty when the job has no plan yet."""
    if not plan_json or not plan_json.strip():
        return ()
    try:
        plan = json.loads(plan_json)
    except (ValueError, RecursionError) as exc:
        _malformed(f"PlanJson of job {job_id} is not JSON: {exc}")
    nodes = plan.get("nodes") if isinstance(plan, dict) else None
    if not isinstance(nodes, list):
        _malformed(f"PlanJson of job {job_id} has no list of nodes")
    result = []
    for node in nodes:
        if not isinstance(node, dict) or "id" not in node:
            _malformed(f"PlanJson of job {job_id} has a node without an id")
        raw_preds = node.get("predecessors") or ()
        if not isinstance(raw_preds, (list, tuple)):
            _malformed(f"PlanJson of job {job_id} has predecessors that are not a list")
        preds = tuple(
            PlanEdge(_as_int("predecessor id", p.get("id")), p.get("ship_strategy"), p.get("side"))
            for p in raw_preds
            if isinstance(p, dict)
        )
        par = node.get("parallelism")
        result.append(PlanNode(
            id=_as_int("node id", node["id"]),
            type=node.get("type"),
            parallelism=None if par is None else _as_int("parallelism", par),
            predecessors=preds,
            pact=node.get("pact"),
            contents=node.get("contents"),
        ))
    return tuple(result)


def parse_properties(text: Optional[str]) -> dict[str, str]:
    """`key=value` lines; comments (`#`, `!`), blank lines and lines without `=` skipped."""
    result: dict[str, str] = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "!")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        result[key.strip()] = value.strip()
    return result
