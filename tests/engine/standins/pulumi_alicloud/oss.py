"""oss.Bucket and oss.BucketObject as local directories and files; replaced when their names change."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Optional

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider


def _root() -> Path:
    return Path(os.environ["FOAS_STANDIN_OSS_DIR"])


class BucketProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        (_root() / props["bucket"]).mkdir(parents=True, exist_ok=True)
        return CreateResult(props["bucket"], {"bucket": props["bucket"]})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = olds.get("bucket") != news.get("bucket")
        return DiffResult(changes=changed, replaces=["bucket"] if changed else [])

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        path = _root() / props["bucket"]
        if any(p.is_file() for p in path.rglob("*")):
            raise RuntimeError(f"BucketNotEmpty: {props['bucket']}")
        shutil.rmtree(path, ignore_errors=True)


class ObjectProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        target = _root() / props["bucket"] / props["key"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(props["source"], target)
        return CreateResult(f"{props['bucket']}:{props['key']}",
                            {k: props[k] for k in ("bucket", "key", "source")})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in ("bucket", "key", "source") if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(replaces), replaces=replaces)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        (_root() / props["bucket"] / props["key"]).unlink()


class Bucket(Resource):
    bucket: pulumi.Output[str]

    def __init__(self, resource_name: str, bucket: pulumi.Input[str],
                 opts: Optional[pulumi.ResourceOptions] = None, **_: Any) -> None:
        super().__init__(BucketProvider(), resource_name, {"bucket": bucket}, opts)


class BucketObject(Resource):
    bucket: pulumi.Output[str]
    key: pulumi.Output[str]

    def __init__(self, resource_name: str, bucket: pulumi.Input[str], key: pulumi.Input[str],
                 source: Optional[pulumi.Input[str]] = None,
                 opts: Optional[pulumi.ResourceOptions] = None, **_: Any) -> None:
        super().__init__(ObjectProvider(), resource_name,
                         {"bucket": bucket, "key": key, "source": source}, opts)
