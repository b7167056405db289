"""Which proxy a request goes through: HTTP_PROXY, HTTPS_PROXY and NO_PROXY as curl and requests apply them.

The transport imports this only when a proxy variable is set, so a direct
listing never pays for the rules. ~/.netrc is never read: proxy credentials
come from the proxy URL's user-info only, sent as Proxy-Authorization.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional, Union
from urllib.parse import unquote, urlsplit

from urllib3.util import make_headers

from . import errors
from .redaction import register_secret


def _env(env: Mapping[str, str], name: str) -> Optional[str]:
    """Lower case first, as curl and requests read them; empty means unset."""
    return env.get(name.lower()) or env.get(name.upper()) or None


@dataclass(frozen=True)
class ProxyRules:
    """HTTP_PROXY/HTTPS_PROXY/NO_PROXY as curl and requests apply them.

    NO_PROXY entries are comma- or space-separated: `*` (every host), a host
    name (itself and every subdomain; a leading `.` or `*.` is allowed), an IP
    address, or a CIDR range; an entry with `:port` matches that port only.
    """

    http: Optional[str] = None
    https: Optional[str] = None
    no_proxy: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> ProxyRules:
        env = os.environ if env is None else env
        all_proxy = _env(env, "all_proxy")
        # A CGI script gets the client's `Proxy:` header as HTTP_PROXY: ignore it there.
        http_proxy = env.get("http_proxy") or (None if "REQUEST_METHOD" in env
                                                else env.get("HTTP_PROXY")) or all_proxy
        https_proxy = _env(env, "https_proxy") or all_proxy
        entries = (_env(env, "no_proxy") or "").replace(",", " ").split()
        for proxy in (http_proxy, https_proxy):
            if proxy:
                _check_proxy_url(proxy)
        return cls(http_proxy or None, https_proxy or None, tuple(e.lower() for e in entries))

    def proxy_for(self, scheme: str, host: str, port: int) -> Optional[str]:
        proxy = self.https if scheme == "https" else self.http
        if proxy is None or self.bypass(host, port):
            return None
        return proxy

    def bypass(self, host: str, port: int) -> bool:
        host = host.lower().strip("[]").rstrip(".")
        try:
            address: Optional[Union[ipaddress.IPv4Address, ipaddress.IPv6Address]] = \
                ipaddress.ip_address(host)
        except ValueError:
            address = None
        for entry in self.no_proxy:
            if entry == "*":
                return True
            name, entry_port = _split_entry(entry)
            if entry_port is not None and entry_port != port:
                continue
            if address is not None:
                try:
                    if address in ipaddress.ip_network(name, strict=False):
                        return True
                except ValueError:
                    pass
                continue
            name = name.removeprefix("*").lstrip(".").rstrip(".")
            if name and (host == name or host.endswith("." + name)):
                return True
        return False


def _split_entry(entry: str) -> tuple[str, Optional[int]]:
    if entry.startswith("["):  # [::1]:8080
        inside, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return inside, int(port) if port.isdigit() else None
    if entry.count(":") == 1:
        name, _, port = entry.partition(":")
        return name, int(port) if port.isdigit() else None
    return entry, None


def _check_proxy_url(proxy: str) -> None:
    parts = urlsplit(proxy if "://" in proxy else "http://" + proxy)
    if parts.scheme not in ("http", "https"):
        raise errors.InvalidInputError(
            f"proxy scheme {parts.scheme!r} is not supported (use an http:// or https:// proxy)")
    if not parts.hostname:
        raise errors.InvalidInputError("a proxy variable is set but names no host")
    register_secret(parts.password)


def proxy_parts(proxy: str) -> tuple[str, dict[str, str]]:
    """The proxy URL without user-info, and the Proxy-Authorization that carries it instead."""
    parts = urlsplit(proxy if "://" in proxy else "http://" + proxy)
    headers: dict[str, str] = {}
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers.update(make_headers(proxy_basic_auth=credentials))
        register_secret(headers["proxy-authorization"])
    netloc = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{netloc}", headers
