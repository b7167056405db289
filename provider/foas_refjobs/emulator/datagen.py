"""Deterministic fake jobs for the default data set, tests and benchmarks."""

from __future__ import annotations

import json
import random
from typing import Any, Optional

_BASE_TIME = 1_551_161_842_000


def generate_job(project: str, packages: list[str], index: int,
                 rng: Optional[random.Random] = None) -> dict[str, Any]:
    rng = rng or random.Random(index)
    job_type = "FLINK_STREAM" if index % 3 else "FLINK_BATCH"
    api_type = "SQL" if index % 2 else "DATASTREAM"
    job_id = f"{rng.getrandbits(96):024x}"
    created = _BASE_TIME + index * 3_600_000
    parallelism = 1 + index % 4
    plan = {"nodes": [
        {"id": 1, "type": "Source: Custom Source", "pact": "Data Source",
         "contents": "Source: Custom Source", "parallelism": parallelism},
        {"id": 2, "type": "Sink: Unnamed", "pact": "Data Sink", "contents": "Sink: Unnamed",
         "parallelism": parallelism,
         "predecessors": [{"id": 1, "ship_strategy": "FORWARD", "side": "second"}]},
    ]}
    return {
        "ModifyTime": created + 86_400_000,
        "Description": f"generated job {index}",
        "EngineVersion": "blink-3.4.4" if index % 2 else "blink_2.2.4",
        "ProjectName": project,
        "ClusterId": "et2cloud****",
        "PlanJson": json.dumps(plan, indent=2),
        "CreateTime": created,
        "JobName": f"{'sql' if api_type == 'SQL' else 'ds'}_job_{index:05d}",
        "Creator": "1709064687573327",
        "FolderId": 10148 + index % 7,
        "Properties": f"blink.checkpoint.interval.ms={60_000 * (1 + index % 5)}\n"
                      "#a comment\nblink.checkpoint.mode=EXACTLY_ONCE\n",
        "Code": f"blink.main.class=com.example.Job{index}\r\nblink.job.name=job_{index}",
        "JobType": job_type,
        "Packages": ",".join(packages),
        "ApiType": api_type,
        "IsCommitted": index % 4 != 0,
        "Modifier": "1709064687573327",
        "QueueName": "root.bayes_team",
        "JobId": job_id,
    }


def generate_jobs(project: str, package: str, count: int, seed: int = 7,
                  extra_packages: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [generate_job(project, [package, *extra_packages], i, rng) for i in range(count)]
