"""The urllib3 transport against servers that misbehave on purpose, real proxies and real TLS.

Every bound is checked by the error class it must end in: a limit hit is
never a partial body.
"""

from __future__ import annotations

import gzip
import json
import os
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foas_refjobs import AuthError, MalformedResponseError, NetworkError, __version__
from foas_refjobs.decoding import decode_body
from foas_refjobs.errors import FoasError, InvalidInputError
from foas_refjobs.proxies import ProxyRules
from foas_refjobs.transport import Transport
from hostile_server import HostileServer, Reply
from loopback import CA_FILE, ForwardProxy, TlsOrigin

NO_ENV: dict[str, str] = {}


def transport(**kwargs: object) -> Transport:
    kwargs.setdefault("env", NO_ENV)
    return Transport(**kwargs)  # type: ignore[arg-type]


def get(server: HostileServer, t: Transport, timeout: float = 5.0, path: str = "/x") -> bytes:
    reply = t.send("GET", server.url + path, {"Accept": "application/json"}, timeout=timeout)
    assert reply.status == 200
    return reply.body


def test_a_plain_answer_and_what_was_sent(hostile_server: HostileServer) -> None:
    hostile_server.queue(Reply.json({"ok": True}))
    t = transport()
    reply = t.send("GET", hostile_server.url + "/a/b%2Fc?x=1", {"X-Acs-Foo": "bar"})
    assert (reply.status, reply.body) == (200, b'{"ok": true}')
    assert reply.headers["content-type"].startswith("application/json")
    sent = hostile_server.requests[0]
    assert sent.target == "/a/b%2Fc?x=1"  # the signed path, byte for byte
    assert sent.headers["x-acs-foo"] == "bar"
    assert sent.headers["user-agent"].startswith(f"pulumi-foas-refjobs/{__version__} Python/")
    assert "authorization" not in sent.headers


def test_connections_are_kept_alive_and_reused(hostile_server: HostileServer) -> None:
    hostile_server.queue(*[Reply.http(200, [("Connection", "keep-alive")], b"{}").keep_alive()
                           for _ in range(3)])
    t = transport()
    for _ in range(3):
        assert get(hostile_server, t) == b"{}"
    assert hostile_server.connections == 1


def test_a_connection_the_server_closes_is_not_reused(hostile_server: HostileServer) -> None:
    hostile_server.queue(Reply.http(200, [("Connection", "close")], b"{}"),
                         Reply.http(200, [("Connection", "keep-alive")], b"[]").keep_alive(),
                         Reply.http(200, [("Connection", "keep-alive")], b"[1]").keep_alive())
    t = transport()
    assert [get(hostile_server, t) for _ in range(3)] == [b"{}", b"[]", b"[1]"]
    assert hostile_server.connections == 2


def test_two_content_lengths_are_malformed_even_when_the_first_fits(
        hostile_server: HostileServer) -> None:
    # http.client alone would read the first; the two are merged as urllib3 merges them.
    hostile_server.queue(Reply.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                                   b"Content-Length: 7\r\n\r\n{}"))
    with pytest.raises(MalformedResponseError, match="Content-Length"):
        get(hostile_server, transport())


def test_failed_answers_do_not_use_up_the_pool(hostile_server: HostileServer) -> None:
    t = transport(pool_size=2)
    for _ in range(5):
        hostile_server.queue(Reply().then_reset())
        with pytest.raises(NetworkError):
            get(hostile_server, t)
    hostile_server.queue(*[Reply.http(200, [("Connection", "keep-alive")], b"{}").keep_alive()
                           for _ in range(2)])
    assert [get(hostile_server, t) for _ in range(2)] == [b"{}", b"{}"]


@pytest.mark.parametrize("where", ["headers", "body", "silence"])
def test_one_total_deadline_covers_headers_and_body(hostile_server: HostileServer, where: str) -> None:
    body = b'{"a": "' + b"x" * 50 + b'"}'
    if where == "headers":
        reply = Reply.http(200, [("Content-Type", "application/json")], body, trickle_headers=0.25)
    elif where == "body":
        reply = Reply.http(200, [("Content-Length", str(len(body)))], b"", content_length=False)
        reply.then_trickle(body, 0.25)
    else:
        reply = Reply.http(200, [], body, delay=30)
    hostile_server.queue(reply)
    started = time.monotonic()
    with pytest.raises(NetworkError) as info:
        get(hostile_server, transport(), timeout=1.5)
    elapsed = time.monotonic() - started
    assert info.value.code == "Timeout"
    assert 1.4 < elapsed < 2.5, elapsed  # each trickled byte came well inside a per-read timeout


def test_a_deadline_before_the_timeout_wins(hostile_server: HostileServer) -> None:
    hostile_server.queue(Reply.http(200, [], b"{}", delay=30))
    started = time.monotonic()
    with pytest.raises(NetworkError):
        transport().send("GET", hostile_server.url, {}, timeout=30, deadline=time.monotonic() + 0.5)
    assert time.monotonic() - started < 1.5


def test_stacked_gzip_bomb_stops_at_the_decoded_cap(hostile_server: HostileServer) -> None:
    hostile_server.queue(Reply.gzip_bomb(512 * 1024 * 1024, layers=2))
    started = time.monotonic()
    with pytest.raises(MalformedResponseError) as info:
        get(hostile_server, transport(max_body_bytes=1 << 20))
    assert "exceeds 1048576 bytes once decoded" in info.value.message
    assert time.monotonic() - started < 2  # stopped at 1 MiB, not after 512 MiB


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_stacked_encodings_within_the_cap_decode(hostile_server: HostileServer, layers: int) -> None:
    data = b'{"Jobs": []}' * 100
    for _ in range(layers):
        data = gzip.compress(data)
    hostile_server.queue(Reply.http(200, [("Content-Encoding", ", ".join(["gzip"] * layers))], data))
    assert get(hostile_server, transport()) == b'{"Jobs": []}' * 100


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS])
def test_deflate_zlib_or_raw(wbits: int) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    data = compressor.compress(b"hello " * 100) + compressor.flush()
    assert decode_body("deflate", data, 10_000) == b"hello " * 100


def test_multi_member_gzip_and_identity() -> None:
    data = gzip.compress(b"ab") + gzip.compress(b"cd")
    assert decode_body("identity, gzip", data, 100) == b"abcd"
    with pytest.raises(MalformedResponseError, match="exceeds 3 bytes"):
        decode_body("gzip", data, 3)


@pytest.mark.parametrize("encoding,data", [
    ("br", b"\x1b\x00"), ("gzip", b"not gzip"), ("gzip", gzip.compress(b"{}")[:-6]),
    ("gzip", gzip.compress(b"{}") + b"junk"), ("compress", b"x"),
])
def test_undecodable_bodies_are_malformed(encoding: str, data: bytes) -> None:
    with pytest.raises(MalformedResponseError):
        decode_body(encoding, data, 1000)


@pytest.mark.parametrize("value", ["²", "1_0", "+2", " -2", "٣", "2, 2", "0x2", "", "9" * 30])
def test_content_length_must_be_ascii_digits(hostile_server: HostileServer, value: str) -> None:
    hostile_server.queue(Reply.http(200, [("Content-Length", value)], b"{}", content_length=False))
    with pytest.raises(MalformedResponseError, match="Content-Length .* is not a number of bytes"):
        get(hostile_server, transport())


def test_content_length_over_the_cap_is_refused_before_reading(hostile_server: HostileServer) -> None:
    hostile_server.queue(Reply.http(200, [("Content-Length", str(1 << 40))], b"", content_length=False)
                         .then_pause(30))
    started = time.monotonic()
    with pytest.raises(MalformedResponseError, match="Content-Length"):
        get(hostile_server, transport(max_body_bytes=1 << 20))
    assert time.monotonic() - started < 1


def test_chunked_body_over_the_cap(hostile_server: HostileServer) -> None:
    chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
    hostile_server.queue(Reply.http(200, [("Transfer-Encoding", "chunked")], chunk * 40,
                                    content_length=False))
    with pytest.raises(MalformedResponseError, match="exceeds"):
        get(hostile_server, transport(max_body_bytes=1 << 20))


def test_close_delimited_body_is_read_to_the_end(hostile_server: HostileServer) -> None:
    hostile_server.queue(Reply.http(200, [], b'{"a": 1}', content_length=False))
    assert get(hostile_server, transport()) == b'{"a": 1}'


@pytest.mark.parametrize("reply,cls,code", [
    (Reply.http(200, [("Content-Length", "100")], b"{}").then_close(), NetworkError, None),
    (Reply.http(200, [("Content-Length", "2"), ("Transfer-Encoding", "chunked")], b"{}",
                content_length=False), MalformedResponseError, "MalformedResponse"),
    (Reply.raw(b"HELLO THERE\r\n\r\n"), MalformedResponseError, None),
    (Reply.http(200, [(f"X-{i}", "v") for i in range(120)], b"{}"), MalformedResponseError, None),
    (Reply.raw(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000 + b"\r\n\r\n"), MalformedResponseError, None),
    (Reply().then_reset(), NetworkError, None),
    (Reply().then_close(), NetworkError, None),
    (Reply.http(200, [("Content-Length", "100")], b'{"a":1}', content_length=False).then_close(),
     NetworkError, None),
])
def test_broken_answers_map_to_one_error_class(hostile_server: HostileServer, reply: Reply,
                                                cls: type[FoasError], code: str | None) -> None:
    hostile_server.queue(reply)
    with pytest.raises(FoasError) as info:
        get(hostile_server, transport())
    assert type(info.value) is cls, info.value
    if code:
        assert info.value.code == code
    assert "\n" not in str(info.value)


def test_connection_refused_is_a_network_error() -> None:
    with pytest.raises(NetworkError):
        transport().send("GET", "http://127.0.0.1:1/", {}, timeout=2)


def test_a_half_read_connection_is_not_reused(hostile_server: HostileServer) -> None:
    hostile_server.queue(Reply.http(200, [("Content-Length", "2"), ("Content-Encoding", "br"),
                                          ("Connection", "keep-alive")], b"{}").keep_alive(),
                         Reply.json({"second": 1}))
    t = transport()
    with pytest.raises(MalformedResponseError):
        get(hostile_server, t)
    assert get(hostile_server, t) == b'{"second": 1}'


def test_netrc_is_never_read(hostile_server: HostileServer, tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".netrc").write_text("default login user password netrc-secret\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    hostile_server.queue(Reply.json({}))
    get(hostile_server, Transport())
    assert "authorization" not in hostile_server.requests[0].headers


# --- proxies --------------------------------------------------------------------------------

@pytest.mark.parametrize("no_proxy,host,port,bypass", [
    ("*", "foas.aliyuncs.com", 443, True),
    ("", "127.0.0.1", 80, False),
    ("127.0.0.1", "127.0.0.1", 8400, True),
    ("localhost,127.0.0.1", "127.0.0.1", 8400, True),
    ("aliyuncs.com", "foas.cn-hangzhou.aliyuncs.com", 443, True),
    (".aliyuncs.com", "foas.aliyuncs.com", 443, True),
    ("*.aliyuncs.com", "foas.aliyuncs.com", 443, True),
    ("aliyuncs.com", "aliyuncs.com", 443, True),
    ("aliyuncs.com", "notaliyuncs.com", 443, False),
    ("cs.com", "foas.aliyuncs.com", 443, False),
    ("127.0.0.0/8", "127.0.0.5", 80, True),
    ("10.0.0.0/8", "127.0.0.5", 80, False),
    ("::1", "::1", 80, True),
    ("[::1]:8400", "::1", 8400, True),
    ("[::1]:8400", "::1", 8401, False),
    ("127.0.0.1:8400", "127.0.0.1", 8401, False),
    ("FOAS.ALIYUNCS.COM", "foas.aliyuncs.com", 443, True),
    ("example.com other.org", "x.other.org", 443, True),
])
def test_no_proxy_matching(no_proxy: str, host: str, port: int, bypass: bool) -> None:
    rules = ProxyRules.from_env({"HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": no_proxy})
    assert rules.bypass(host, port) is bypass
    assert (rules.proxy_for("https", host, port) is None) is bypass


def test_proxy_variables_either_case() -> None:
    assert ProxyRules.from_env({"https_proxy": "http://a:1"}).https == "http://a:1"
    assert ProxyRules.from_env({"HTTPS_PROXY": "http://b:1"}).https == "http://b:1"
    assert ProxyRules.from_env({"https_proxy": "http://a:1", "HTTPS_PROXY": "http://b:1"}).https \
        == "http://a:1"
    assert ProxyRules.from_env({"no_proxy": "x"}).no_proxy == ("x",)
    assert ProxyRules.from_env({"HTTP_PROXY": "http://b:1", "REQUEST_METHOD": "GET"}).http is None
    with pytest.raises(InvalidInputError, match="socks5"):
        ProxyRules.from_env({"HTTPS_PROXY": "socks5://127.0.0.1:1080"})


def test_http_through_a_real_forwarding_proxy(hostile_server: HostileServer,
                                              forward_proxy: ForwardProxy) -> None:
    hostile_server.queue(Reply.json({"via": "proxy"}))
    t = transport(env={"HTTP_PROXY": forward_proxy.url})
    assert get(hostile_server, t, path="/p?q=1") == b'{"via": "proxy"}'
    assert [r.target for r in forward_proxy.records] == [hostile_server.url + "/p?q=1"]
    assert hostile_server.requests[0].target == "/p?q=1"


def test_no_proxy_goes_direct_and_a_dead_proxy_is_a_network_error(hostile_server: HostileServer) -> None:
    hostile_server.queue(Reply.json({}))
    direct = transport(env={"http_proxy": "http://127.0.0.1:9", "no_proxy": "127.0.0.1"})
    assert get(hostile_server, direct) == b"{}"
    with pytest.raises(NetworkError):
        get(hostile_server, transport(env={"HTTP_PROXY": "http://127.0.0.1:9"}))


def test_proxy_credentials_are_sent_and_never_shown(hostile_server: HostileServer) -> None:
    import base64

    expected = "Basic " + base64.b64encode(b"proxyuser:pr0xy-p@ss").decode()
    proxy = ForwardProxy(require_auth=expected)
    try:
        hostile_server.queue(Reply.json({"ok": 1}))
        t = transport(env={"HTTP_PROXY": f"http://proxyuser:pr0xy-p%40ss@127.0.0.1:{proxy.port}"})
        assert get(hostile_server, t) == b'{"ok": 1}'
        assert proxy.records[-1].proxy_authorization == expected
        assert "proxy-authorization" not in hostile_server.requests[0].headers
        wrong = transport(env={"HTTP_PROXY": f"http://proxyuser:wrong-pass@127.0.0.1:{proxy.port}"})
        with pytest.raises(AuthError) as info:
            get(hostile_server, wrong)
        assert info.value.code == "ProxyAuthenticationRequired"
        assert "wrong-pass" not in str(info.value) and "wrong-pass" not in repr(info.value)
    finally:
        proxy.stop()
    dead = transport(env={"HTTP_PROXY": "http://user:dead-pass@127.0.0.1:9"})
    with pytest.raises(NetworkError) as info:
        get(hostile_server, dead)
    assert "dead-pass" not in str(info.value)


# --- TLS ------------------------------------------------------------------------------------

def test_tls_is_verified_by_default(tls_origin: TlsOrigin) -> None:
    with pytest.raises(NetworkError) as info:
        transport().send("GET", tls_origin.url + "/", {}, timeout=5)
    assert info.value.code == "TLSError"
    assert "certificate" in info.value.message.lower()


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_ca_bundle_from_the_usual_variables(tls_origin: TlsOrigin, variable: str) -> None:
    t = transport(env={variable: str(CA_FILE)})
    reply = t.send("GET", tls_origin.url + "/ok", {}, timeout=5)
    assert reply.status == 200 and b'"/ok"' in reply.body


def test_https_connections_are_kept_alive_and_reused() -> None:
    origin = TlsOrigin(lambda request: {"client_port": request.client_address[1]})
    try:
        t = transport(env={"SSL_CERT_FILE": str(CA_FILE)})
        ports = [json.loads(t.send("GET", origin.url + "/", {}, timeout=5).body)["client_port"]
                 for _ in range(3)]
    finally:
        origin.stop()
    assert len(set(ports)) == 1, ports


def test_a_missing_ca_bundle_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="CA bundle"):
        transport(env={"REQUESTS_CA_BUNDLE": str(tmp_path / "nope.pem")})
    (tmp_path / "bad.pem").write_text("not a certificate")
    with pytest.raises(InvalidInputError, match="CA bundle"):  # loaded on the first https request
        transport(ca_bundle=str(tmp_path / "bad.pem")).send("GET", "https://127.0.0.1:1/", {}, timeout=2)


def test_https_through_a_connect_tunnel(tls_origin: TlsOrigin, forward_proxy: ForwardProxy) -> None:
    t = transport(env={"HTTPS_PROXY": forward_proxy.url, "SSL_CERT_FILE": str(CA_FILE)})
    reply = t.send("GET", tls_origin.url + "/tunnel", {}, timeout=5)
    assert reply.status == 200 and b"/tunnel" in reply.body
    assert forward_proxy.records[0].method == "CONNECT"
    assert forward_proxy.records[0].target == f"127.0.0.1:{tls_origin.port}"
    forward_proxy.require_auth = "Basic nobody"
    refused = transport(env={"HTTPS_PROXY": forward_proxy.url.replace("://", "://u:tunnel-pass@"),
                             "SSL_CERT_FILE": str(CA_FILE)})
    with pytest.raises(AuthError) as info:
        refused.send("GET", tls_origin.url + "/tunnel", {}, timeout=5)
    assert "tunnel-pass" not in str(info.value)


def test_the_process_environment_is_the_default(tls_origin: TlsOrigin,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(CA_FILE))
    assert Transport().send("GET", tls_origin.url + "/", {}, timeout=5).status == 200
    assert os.environ["REQUESTS_CA_BUNDLE"] == str(CA_FILE)


# Our connections write a header line themselves (`_TrackedHTTPConnection.putheader`, through
# http.client's `_output`). These pin that the bytes and the refusals are http.client's own.
HEADER_CASES = [
    ("Authorization", "acs LTAI:c2lnbmF0dXJl"),
    ("x-acs-signature-nonce", "5b6f-0c"),
    ("Date", "Mon, 30 Nov 2026 23:46:05 GMT"),
    ("X-Empty", ""),
    ("X-Folded", "a\r\n b"),
    ("X-Latin", "caf\u00e9"),
]
BAD_HEADERS = [
    ("X-Injected", "a\r\nSet-Cookie: x=1"),
    ("X-Bare-LF", "a\nb"),
    ("Bad Name:", "v"),
    ("X-Not-Latin", "\u4e2d"),
    ("X-\u00e9", "v"),
]


def _written(connection: object, headers: list[tuple[str, str]]) -> list[bytes]:
    connection.putrequest("GET", "/x", skip_host=True, skip_accept_encoding=True)  # type: ignore[attr-defined]
    for name, value in headers:
        connection.putheader(name, value)  # type: ignore[attr-defined]
    return list(connection._buffer)  # type: ignore[attr-defined]


def test_header_lines_are_the_bytes_http_client_writes() -> None:
    import http.client

    from foas_refjobs.transport import _TrackedHTTPConnection, _TrackedHTTPSConnection

    expected = _written(http.client.HTTPConnection("127.0.0.1", 1), HEADER_CASES)
    for cls in (_TrackedHTTPConnection, _TrackedHTTPSConnection):
        assert _written(cls("127.0.0.1", 1), HEADER_CASES) == expected


@pytest.mark.parametrize(("name", "value"), BAD_HEADERS)
def test_a_header_http_client_refuses_is_refused(name: str, value: str) -> None:
    import http.client

    from foas_refjobs.transport import _TrackedHTTPConnection

    with pytest.raises((ValueError, UnicodeError)) as theirs:
        _written(http.client.HTTPConnection("127.0.0.1", 1), [(name, value)])
    with pytest.raises((ValueError, UnicodeError)) as ours:
        _written(_TrackedHTTPConnection("127.0.0.1", 1), [(name, value)])
    assert type(ours.value) is type(theirs.value)


def test_urllib3_skip_header_still_skips() -> None:
    from urllib3.util import SKIP_HEADER

    from foas_refjobs.transport import _TrackedHTTPConnection

    lines = _written(_TrackedHTTPConnection("127.0.0.1", 1), [("User-Agent", SKIP_HEADER)])
    assert not any(line.lower().startswith(b"user-agent") for line in lines)


def test_the_shared_no_retries_is_what_urllib3_makes_of_false() -> None:
    """Transport passes one Retry object to every urlopen; it must mean what retries=False,
    redirect=False means to urllib3 (no retry, no redirect followed, the error raised)."""
    from urllib3.util.retry import Retry

    from foas_refjobs.transport import _NO_RETRIES

    assert vars(_NO_RETRIES) == vars(Retry.from_int(False, redirect=False, default=False))


# The response head is read by http.client's own `begin`, with `transport.parse_headers` in
# place of http.client's (`_Response`). These pin that it still is, and that the result is
# what http.client's parser gives, for any head: plain lines, folded values, lines without a
# colon, bare CRs, duplicates, latin-1 text, and heads over http.client's limits.

_TOKEN = st.text(alphabet="!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                 min_size=1, max_size=12)
_VALUE = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255,
                                        blacklist_characters="\r\n"), max_size=20)
_ODD_LINE = st.sampled_from([" folded continuation", "\tfolded", "no colon here", ": empty name",
                             "Name : space before colon", "From someone", "X-Bare: a\rb",
                             "X-Ctl: \x00\x7f", "X-Colons: a:b:c", ""])
_LINE = st.one_of(st.tuples(_TOKEN, _VALUE).map(lambda nv: f"{nv[0]}:{nv[1]}"),
                  st.tuples(_TOKEN, _VALUE).map(lambda nv: f"{nv[0]}: {nv[1]}  "), _ODD_LINE)


def _head(lines: list[str], end: str) -> bytes:
    return "".join(line + end for line in lines).encode("latin-1") + end.encode()


def _parsed(parse: Any, data: bytes) -> object:
    import io

    try:
        message = parse(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - the class is what is compared
        return type(exc)
    return (type(message), message.items(), [repr(d) for d in message.defects],
            message.get_payload() or None)


@given(lines=st.lists(_LINE, max_size=12), end=st.sampled_from(["\r\n", "\n"]))
@settings(max_examples=300, deadline=None, derandomize=True)
def test_a_head_parses_as_http_client_parses_it(lines: list[str], end: str) -> None:
    import http.client

    from foas_refjobs.transport import parse_headers

    data = _head(lines, end)
    assert _parsed(parse_headers, data) == _parsed(http.client.parse_headers, data)


@pytest.mark.parametrize("data", [
    b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n",  # over the header count
    b"X-Long: " + b"a" * 70_000 + b"\r\n\r\n",                   # over the line length
    b"X-Cut: partial",                                           # the head ends mid-line
    b"",
])
def test_a_head_at_http_client_limits_fails_or_parses_as_it_does(data: bytes) -> None:
    import http.client

    from foas_refjobs.transport import parse_headers

    assert _parsed(parse_headers, data) == _parsed(http.client.parse_headers, data)


def test_responses_are_read_by_http_clients_begin_with_our_head_parser() -> None:
    import http.client

    from foas_refjobs import transport

    begin = transport._Response.begin
    assert begin.__code__ is http.client.HTTPResponse.begin.__code__
    assert "parse_headers" in begin.__code__.co_names
    assert begin.__globals__["parse_headers"] is transport.parse_headers
    assert transport._TrackedHTTPConnection.response_class is transport._Response
    assert transport._TrackedHTTPSConnection.response_class is transport._Response


def test_a_folded_header_reaches_the_caller_as_http_client_reads_it(
        hostile_server: HostileServer) -> None:
    hostile_server.queue(Reply.raw(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Folded: a\r\n b\r\n"
                                   b"X-Twice: 1\r\nX-Twice: 2\r\n\r\n{}"))
    reply = transport().send("GET", hostile_server.url + "/x", {}, timeout=5)
    assert reply.body == b"{}"
    assert reply.headers["x-folded"] == "a b"  # urllib3 unfolds it
    assert reply.headers["x-twice"] == "1, 2"


# --- the lean request head and the connection checks ----------------------------------------

SIGNED_HEADERS = {
    "User-Agent": "pulumi-foas-refjobs/test",
    "Accept": "application/json",
    "Accept-Encoding": "identity",
    "x-acs-signature-nonce": "5b6f-0c",
    "Date": "Mon, 30 Nov 2026 23:46:05 GMT",
    "Authorization": "acs LTAI:c2lnbmF0dXJl",
    "X-Empty": "",
    "X-Latin": "caf\u00e9",
}


class _Recorder:
    """A socket that keeps what is written to it."""

    def __init__(self) -> None:
        self.sent = b""

    def settimeout(self, value: object) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        self.sent += data


def _urllib3_head(cls: type, host: str, port: int, target: str, headers: dict[str, str]) -> bytes:
    connection = cls(host, port)
    connection.sock = _Recorder()
    connection.request("GET", target, headers=headers, preload_content=False, decode_content=False)
    sent: bytes = connection.sock.sent
    return sent


@pytest.mark.parametrize(("host", "port"), [
    ("127.0.0.1", 8080), ("127.0.0.1", 80), ("127.0.0.1", 443), ("::1", 9000),
    ("foas.cn-hangzhou.aliyuncs.com", 443), ("b\u00fccher.example", 8443),
])
@pytest.mark.parametrize("headers", [
    SIGNED_HEADERS,
    {k: v for k, v in SIGNED_HEADERS.items() if k != "Accept-Encoding"},
    {**SIGNED_HEADERS, "Host": "other.example:1"},
])
def test_the_lean_head_is_the_bytes_urllib3_writes(host: str, port: int,
                                                  headers: dict[str, str]) -> None:
    from foas_refjobs.transport import _request_head, _TrackedHTTPConnection, _TrackedHTTPSConnection

    target = "/api/v2/projects/p/packages/a%2Fb.jar/jobs?pageIndex=2&pageSize=50"
    for cls in (_TrackedHTTPConnection, _TrackedHTTPSConnection):
        expected = _urllib3_head(cls, host, port, target, headers)
        assert _request_head(cls(host, port), "GET", target, headers) == expected


@pytest.mark.parametrize(("target", "headers"), [
    ("/x", {**SIGNED_HEADERS, "X-Injected": "a\r\nSet-Cookie: x=1"}),
    ("/x", {**SIGNED_HEADERS, "X-Not-Latin": "\u4e2d"}),
    ("/x", {**SIGNED_HEADERS, "Bad Name:": "v"}),
    ("/x y", SIGNED_HEADERS),
    ("/x\r\nX-Injected: 1", SIGNED_HEADERS),
    ("/caf\u00e9", SIGNED_HEADERS),
    ("/x", {k: v for k, v in SIGNED_HEADERS.items() if k != "User-Agent"}),
])
def test_a_head_urllib3_would_refuse_or_write_otherwise_takes_its_path(
        target: str, headers: dict[str, str]) -> None:
    from foas_refjobs.transport import _request_head, _TrackedHTTPConnection

    assert _request_head(_TrackedHTTPConnection("127.0.0.1", 1), "GET", target, headers) is None


def test_a_header_that_cannot_be_sent_fails_and_nothing_is_sent(
        hostile_server: HostileServer) -> None:
    hostile_server.queue(Reply.json({}))
    with pytest.raises(FoasError):
        transport().send("GET", hostile_server.url + "/x", {"X-Injected": "a\r\nSet-Cookie: x=1"},
                         timeout=5)
    assert hostile_server.requests == []


def _pair() -> tuple[Any, Any]:
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    try:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    finally:
        listener.close()
    return client, server


def _connection_on(sock: Any) -> Any:
    from foas_refjobs.transport import _TrackedHTTPConnection

    connection = _TrackedHTTPConnection("127.0.0.1", 1)
    connection.sock = sock
    return connection


def _wait_until_not_connected(connection: Any) -> bool:
    deadline = time.monotonic() + 5
    while connection.is_connected and time.monotonic() < deadline:
        time.sleep(0.01)
    return not connection.is_connected


@pytest.mark.parametrize("check", ["socket options", "no TCP_INFO", "no SO_MEMINFO", "refused"])
@pytest.mark.parametrize("how", ["close", "reset", "unasked bytes"])
def test_a_connection_the_peer_ended_or_wrote_to_is_not_connected(
        monkeypatch: pytest.MonkeyPatch, check: str, how: str) -> None:
    import socket
    import struct

    from foas_refjobs import transport as transport_module

    if check == "no TCP_INFO":
        monkeypatch.setattr(transport_module, "_TCP_INFO", None)
    elif check == "no SO_MEMINFO":
        monkeypatch.setattr(transport_module, "_SO_MEMINFO", None)
    elif check == "refused":  # a kernel without the option: urllib3's poll decides
        monkeypatch.setattr(transport_module, "_SO_MEMINFO", 0x7FFF)
    elif transport_module._TCP_INFO is None or transport_module._SO_MEMINFO is None:
        pytest.skip("the socket options are not known on this platform")
    client, server = _pair()
    connection = _connection_on(client)
    try:
        assert connection.is_connected
        if how == "unasked bytes":  # what a server sends after its answer must not start the next
            server.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]")
        else:
            if how == "reset":
                server.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            server.close()
        assert _wait_until_not_connected(connection)
        if how != "reset":  # read what came: the connection is still dropped if the peer left
            client.recv(1 << 16)
            assert connection.is_connected is (how == "unasked bytes")
    finally:
        client.close()
        server.close()


def test_the_check_does_not_poll_where_the_socket_options_answer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib3's poll lets every other listing thread take the interpreter lock; reading two
    socket options does not."""
    import urllib3.connection

    from foas_refjobs import transport as transport_module

    if transport_module._TCP_INFO is None or transport_module._SO_MEMINFO is None:
        pytest.skip("the socket options are not known on this platform")
    polls: list[object] = []
    monkeypatch.setattr(urllib3.connection, "wait_for_read",
                        lambda sock, timeout=None: polls.append(sock) or False)
    client, server = _pair()
    try:
        connection = _connection_on(client)
        assert connection.is_connected
        assert polls == []
        monkeypatch.setattr(transport_module, "_SO_MEMINFO", None)
        assert connection.is_connected
        assert polls == [client]  # without the options, urllib3's own check
    finally:
        client.close()
        server.close()


def test_a_connection_without_a_socket_is_not_connected() -> None:
    assert not _connection_on(None).is_connected


def test_a_typical_page_is_read_in_one_receive(hostile_server: HostileServer,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    body = json.dumps({"Jobs": {"Job": [{"PlanJson": "x" * 1100}] * 50}}).encode()
    assert 50_000 < len(body) < 60_000
    hostile_server.queue(Reply.http(200, [("Content-Length", str(len(body)))], body,
                                    content_length=False))
    t = transport()
    reads: list[int] = []
    readinto = socket.SocketIO.readinto

    def counted(self: Any, buffer: Any) -> Any:
        reads.append(len(buffer))
        return readinto(self, buffer)

    monkeypatch.setattr(socket.SocketIO, "readinto", counted)
    reply = t.send("GET", hostile_server.url + "/x", {}, timeout=5)
    assert reply.body == body
    # The server writes the answer at once; http.client's default buffer would take 7 reads.
    assert len(reads) <= 2, reads


def test_a_request_without_a_body_is_written_without_urllib3s_request(
        hostile_server: HostileServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from foas_refjobs.transport import _TrackedHTTPConnection

    calls: list[str] = []
    request = _TrackedHTTPConnection.request

    def counted(self: Any, method: str, *args: Any, **kwargs: Any) -> None:
        calls.append(method)
        request(self, method, *args, **kwargs)

    monkeypatch.setattr(_TrackedHTTPConnection, "request", counted)
    hostile_server.queue(*[Reply.http(200, [("Connection", "keep-alive")], b"{}").keep_alive()
                           for _ in range(3)])
    t = transport()
    assert get(hostile_server, t) == b"{}"
    assert t.send("POST", hostile_server.url + "/x", {}, body=b"a=1", timeout=5).body == b"{}"
    assert get(hostile_server, t) == b"{}"
    assert calls == ["POST"]
    assert [r.method for r in hostile_server.requests] == ["GET", "POST", "GET"]
    assert hostile_server.requests[1].body == b"a=1"
    assert hostile_server.connections == 1
