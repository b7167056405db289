"""Drive the real dynamic-provider host (`python -m pulumi.dynamic`) over gRPC, as the engine would.

No Pulumi CLI is needed: the host is the process the CLI itself starts for
`pulumi-python:dynamic:*` resources. Providers are serialized with the SDK's
own `serialize_provider`, property bags with `rpc.serialize_properties`, and
every response and error is kept so tests can grep them for secrets.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import grpc
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from foas_refjobs.emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET

PROVIDER_KEY = "__provider"
SECRET_SIG = {rpc._special_sig_key: rpc._special_secret_sig}
STACK_URN = "urn:pulumi:test::foas-refjobs"
# The keys a stack holds as secrets (`pulumi config set --secret`): the engine sends them marked.
SECRET_KEYS = ("foas:accessKeySecret", "foas:securityToken", "alicloud:secretKey",
               "alicloud:securityToken")

_serial = itertools.count(1)


def stack_config(endpoint: str, alicloud: Optional[dict[str, str]] = None,
                 **foas: Optional[str]) -> dict[str, str]:
    """The config of a stack pointed at `endpoint`, with the emulator's AccessKey in `foas:` keys.

    A test names only what it varies: `foas` keys without their prefix (`accessKeySecret=...`,
    `region=...`; None removes a key) and any `alicloud:` keys, also without it.
    """
    config: dict[str, Optional[str]] = {
        "foas:accessKeyId": DEFAULT_ACCESS_KEY_ID, "foas:accessKeySecret": DEFAULT_ACCESS_KEY_SECRET,
        "foas:endpoint": endpoint}
    config.update({f"foas:{key}": value for key, value in foas.items()})
    config.update({f"alicloud:{key}": value for key, value in (alicloud or {}).items()})
    return {key: value for key, value in config.items() if value is not None}


def secret(value: Any) -> dict[str, Any]:
    """A value the way the engine marks a secret in a property bag."""
    return {**SECRET_SIG, "value": value}


def to_struct(props: dict[str, Any]) -> Any:
    return asyncio.run(rpc.serialize_properties(props, {}))


def from_struct(struct: Any, keep_unknowns: bool = False) -> dict[str, Any]:
    return dict(rpc.deserialize_properties(struct, keep_unknowns))


class ProviderCallError(Exception):
    def __init__(self, method: str, error: grpc.RpcError) -> None:
        self.method = method
        self.code = error.code()
        self.details = error.details() or ""
        super().__init__(f"{method} failed with {self.code}: {self.details}")


@dataclass
class Transcript:
    """Everything the host sent back, as bytes, for leak checks."""

    responses: list[bytes] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def blob(self) -> bytes:
        return b"\n".join(self.responses) + "\n".join(self.errors).encode("utf-8", "replace")


class ProviderHost:
    """One `python -m pulumi.dynamic` process and a gRPC stub to it."""

    def __init__(self, workdir: Path, env: Optional[dict[str, str]] = None,
                 name: str = "host") -> None:
        self.stdout_path = workdir / f"{name}.stdout"
        self.stderr_path = workdir / f"{name}.stderr"
        self._stdout = self.stdout_path.open("wb")
        self._stderr = self.stderr_path.open("wb")
        full_env = dict(os.environ if env is None else env)
        full_env.setdefault("PULUMI_PROJECT", "foas-refjobs-tests")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pulumi.dynamic"], stdout=self._stdout, stderr=self._stderr,
            stdin=subprocess.DEVNULL, env=full_env, cwd=str(workdir),
        )
        self.port = self._read_port(timeout=30.0)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)
        self.transcript = Transcript()

    def _read_port(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.stdout_path.read_bytes()
            if b"\n" in text:
                return int(text.split(b"\n", 1)[0].strip())
            if self.process.poll() is not None:
                raise RuntimeError(f"provider host exited: {self.stderr_path.read_text()}")
            time.sleep(0.02)
        raise RuntimeError("provider host did not print its port")

    def __enter__(self) -> ProviderHost:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._stdout.close()
        self._stderr.close()

    def output(self) -> bytes:
        """Everything the host process printed so far (stdout and stderr)."""
        return self.stdout_path.read_bytes() + self.stderr_path.read_bytes()

    def _call(self, method: str, request: Any) -> Any:
        try:
            response = getattr(self.stub, method)(request, timeout=120)
        except grpc.RpcError as exc:
            error = ProviderCallError(method, exc)
            self.transcript.errors.append(error.details)
            raise error from None
        self.transcript.responses.append(response.SerializeToString())
        return response

    # --- the ResourceProvider protocol, engine-style ---------------------------------

    def configure(self, config: dict[str, Any]) -> None:
        """Configure as the engine does, `SECRET_KEYS` marked secret."""
        args = {k: secret(v) if k in SECRET_KEYS else v for k, v in config.items()}
        variables = {k: str(v) for k, v in config.items()}
        self._call("Configure", provider_pb2.ConfigureRequest(
            variables=variables, args=to_struct(args), acceptSecrets=True, acceptResources=True))

    def provider(self, cls: type, config: dict[str, Any], **provider_args: Any) -> str:
        """A `__provider` string of `cls` that sees `config`.

        The host runs a provider's configure() once per provider string, with the config of the
        last Configure before its first use; so this configures, then makes a string the host has
        not seen (a distinct timeout, unless `provider_args` fix one).
        """
        self.configure(config)
        provider_args.setdefault("timeout", 10.0 + next(_serial) / 1000)
        return serialized(cls(**provider_args))

    def check(self, provider: str, news: dict[str, Any], olds: Optional[dict[str, Any]] = None,
              urn: str = f"{STACK_URN}::r") -> tuple[dict[str, Any], list[tuple[str, str]]]:
        response = self._call("Check", provider_pb2.CheckRequest(
            urn=urn, olds=to_struct({**(olds or {})}),
            news=to_struct({**news, PROVIDER_KEY: provider})))
        failures = [(f.property, f.reason) for f in response.failures]
        return from_struct(response.inputs, keep_unknowns=True), failures

    def diff(self, provider: str, id_: str, olds: dict[str, Any], news: dict[str, Any],
             urn: str = f"{STACK_URN}::r") -> Any:
        return self._call("Diff", provider_pb2.DiffRequest(
            id=id_, urn=urn, olds=to_struct({**olds, PROVIDER_KEY: provider}),
            news=to_struct({**news, PROVIDER_KEY: provider})))

    def create(self, provider: str, props: dict[str, Any],
               urn: str = f"{STACK_URN}::r") -> tuple[str, dict[str, Any]]:
        response = self._call("Create", provider_pb2.CreateRequest(
            urn=urn, properties=to_struct({**props, PROVIDER_KEY: provider})))
        return response.id, from_struct(response.properties)

    def read(self, provider: str, id_: str, props: Optional[dict[str, Any]],
             inputs: Optional[dict[str, Any]] = None,
             urn: str = f"{STACK_URN}::r") -> tuple[str, dict[str, Any], dict[str, Any]]:
        """`props` None is a `get` by id: the engine sends only inputs."""
        properties = {} if props is None else {**props, PROVIDER_KEY: provider}
        response = self._call("Read", provider_pb2.ReadRequest(
            id=id_, urn=urn, properties=to_struct(properties),
            inputs=to_struct({**(inputs or {}), PROVIDER_KEY: provider})))
        return response.id, from_struct(response.properties), from_struct(response.inputs)

    def update(self, provider: str, id_: str, olds: dict[str, Any], news: dict[str, Any],
               urn: str = f"{STACK_URN}::r") -> dict[str, Any]:
        response = self._call("Update", provider_pb2.UpdateRequest(
            id=id_, urn=urn, olds=to_struct({**olds, PROVIDER_KEY: provider}),
            news=to_struct({**news, PROVIDER_KEY: provider})))
        return from_struct(response.properties)

    def delete(self, provider: str, id_: str, props: dict[str, Any],
               urn: str = f"{STACK_URN}::r") -> None:
        self._call("Delete", provider_pb2.DeleteRequest(
            id=id_, urn=urn, properties=to_struct({**props, PROVIDER_KEY: provider})))


def serialized(provider: Any) -> str:
    """The `__provider` string exactly as `pulumi.dynamic.Resource` computes it."""
    return str(serialize_provider(provider))
