"""The SSRF guard and the fetcher's limits: schemes, hosts, addresses (on every redirect hop), size and time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from askdocs.errors import ConfigError, LoadError
from ingest.sources import Reader, SourceRef
from ingest.web import Failed, Fetched, Guard, GuardError, WebPolicy, fetch_page
from ingest.web.page import page_fetcher
from tests.ingest.test_web_site import Site, make_certificates, running, running_tls

PRIVATE_HINT = "private and local addresses are refused unless allowed (--allow-private-network)"
LOCAL = WebPolicy(allow_private_network=True)


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    site = Site()
    with running(site) as base:
        yield site, base


class Resolver:
    """DNS as a table (the tests may not reach a real DNS server); records what was asked."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.table[host]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http and https URLs can be fetched, not file"),
        ("ftp://docs.example/handbook.pdf", "only http and https URLs can be fetched, not ftp"),
        ("gopher://docs.example/", "only http and https URLs can be fetched, not gopher"),
        ("//docs.example/x", "only http and https URLs can be fetched, not a relative URL"),
        ("http:///nohost", "the URL has no host"),
        ("http://docs.example:99999/", "not a valid URL (Port out of range 0-65535)"),
        ("https://other.example/", "host 'other.example' is not allowed (allowed hosts: docs.example, *.wiki.example)"),
        ("https://wiki.example/", "host 'wiki.example' is not allowed (allowed hosts: docs.example, *.wiki.example)"),
    ],
)
def test_urls_the_policy_refuses_never_reach_dns(url: str, reason: str) -> None:
    resolver = Resolver({})
    guard = Guard(WebPolicy(allow_hosts=("docs.example", "*.wiki.example")), resolver)
    with pytest.raises(GuardError) as refused:
        guard.check(url)
    assert refused.value.reason == reason and refused.value.source == url
    assert resolver.asked == []


def test_allowed_hosts_are_checked_by_every_address_they_resolve_to() -> None:
    resolver = Resolver(
        {
            "docs.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
            "a.wiki.example": ["93.184.216.34", "10.0.0.7"],
        }
    )
    guard = Guard(WebPolicy(allow_hosts=("docs.example", "*.wiki.example")), resolver)
    assert guard.check("https://docs.example/a") == ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]
    with pytest.raises(GuardError) as refused:
        guard.check("https://a.wiki.example/")
    assert refused.value.reason == f"'a.wiki.example' resolves to 10.0.0.7, which is a private address; {PRIVATE_HINT}"
    opened = Guard(WebPolicy(allow_hosts=("*",), allow_networks=("10.0.0.0/24",)), resolver)
    assert opened.check("https://a.wiki.example/") == ["93.184.216.34", "10.0.0.7"]


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fd00::1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("100.64.0.1", "a non-public address"),  # carrier-grade NAT
        ("240.0.0.1", "a reserved address"),
        ("::ffff:127.0.0.1", "a loopback address"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "a link-local address"),
        ("2002:a00:1::", "a private address"),  # 6to4 around 10.0.0.1
        ("64:ff9b::7f00:1", "a loopback address"),  # NAT64 around 127.0.0.1
    ],
)
def test_non_public_addresses_are_refused_unless_private_networks_are_allowed(address: str, why: str) -> None:
    assert Guard(WebPolicy()).refusal(address) == f"is {why}; {PRIVATE_HINT}"
    assert Guard(WebPolicy(allow_private_network=True)).refusal(address) is None


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("::ffff:224.0.0.1", "a multicast address"),
    ],
)
def test_unspecified_and_multicast_addresses_are_never_fetched(address: str, why: str) -> None:
    assert Guard(WebPolicy(allow_private_network=True)).refusal(address) == f"is {why}; it is never fetched"


def test_public_addresses_pass() -> None:
    guard = Guard(WebPolicy())
    assert guard.refusal("93.184.216.34") is None and guard.refusal("2606:4700::1111") is None


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f.1", "127.1", "[::1]", "[::ffff:7f00:1]"])
def test_every_spelling_of_loopback_is_refused(host: str) -> None:
    """The real resolver: the address is judged after resolution, whatever the URL spelled."""
    with pytest.raises(GuardError, match="is a loopback address"):
        Guard(WebPolicy(allow_hosts=("*",))).check(f"http://{host}/")


def test_a_server_on_loopback_is_refused_without_allow_private_network(site: tuple[Site, str]) -> None:
    server, base = site
    result = fetch_page(f"{base}/handbook/leave.html", WebPolicy())
    assert result == Failed(f"{base}/handbook/leave.html", f"127.0.0.1 is a loopback address; {PRIVATE_HINT}")
    assert server.hits == []  # not even robots.txt
    assert isinstance(fetch_page(f"{base}/handbook/leave.html", LOCAL), Fetched)


def test_redirect_hops_are_checked_again(site: tuple[Site, str]) -> None:
    _, base = site
    # Any host, no private networks, but the test site's own address opened: its redirects are judged hop by hop.
    policy = WebPolicy(allow_hosts=("*",), allow_networks=("127.0.0.1/32",))
    assert isinstance(fetch_page(f"{base}/handbook/old-expenses", policy), Fetched)
    metadata = fetch_page(f"{base}/handbook/to-metadata", policy)
    assert metadata == Failed(
        f"{base}/handbook/to-metadata",
        f"redirected to http://169.254.169.254/latest/meta-data/: 169.254.169.254 is a link-local address; "
        f"{PRIVATE_HINT}",
    )
    partner = fetch_page(f"{base}/handbook/to-partner", WebPolicy(allow_private_network=True))
    assert partner == Failed(
        f"{base}/handbook/to-partner",
        "redirected to https://partner.example/terms.html: host 'partner.example' is not allowed "
        "(allowed hosts: 127.0.0.1)",
    )


def test_redirect_loops_and_chains_end_with_a_clear_failure(site: tuple[Site, str]) -> None:
    _, base = site
    loop = fetch_page(f"{base}/handbook/loop", LOCAL)
    assert loop == Failed(
        f"{base}/handbook/loop",
        f"redirect loop: {base}/handbook/loop -> {base}/handbook/loop-again -> {base}/handbook/loop",
    )
    short = fetch_page(f"{base}/handbook/old-expenses", WebPolicy(allow_private_network=True, max_redirects=0))
    assert short == Failed(f"{base}/handbook/old-expenses", "too many redirects (more than 0)")


def test_404_is_gone_and_other_errors_are_not(site: tuple[Site, str]) -> None:
    _, base = site
    assert fetch_page(f"{base}/handbook/nope.html", LOCAL) == Failed(
        f"{base}/handbook/nope.html", "HTTP 404 Not Found", gone=True
    )
    unavailable = Site(robots="503")
    with running(unavailable) as other:
        robots = fetch_page(f"{other}/robots.txt", WebPolicy(allow_private_network=True, respect_robots=False))
    assert robots == Failed(f"{other}/robots.txt", "HTTP 503 Service Unavailable", gone=False)


def test_responses_over_the_size_limit_are_cut_off(site: tuple[Site, str]) -> None:
    _, base = site
    small = WebPolicy(allow_private_network=True, max_bytes=100_000)
    declared = fetch_page(f"{base}/big", small)
    assert declared == Failed(f"{base}/big", "response is 293.0 KiB, over the 97.7 KiB limit")
    streamed = fetch_page(f"{base}/big-stream", small)  # no Content-Length: counted as it arrives
    assert streamed == Failed(f"{base}/big-stream", "response is over the 97.7 KiB limit")
    assert isinstance(fetch_page(f"{base}/big", LOCAL), Fetched)


def test_a_slow_server_times_out(site: tuple[Site, str]) -> None:
    _, base = site
    result = fetch_page(f"{base}/slow", WebPolicy(allow_private_network=True, timeout_s=0.3))
    assert result == Failed(f"{base}/slow", "timed out after 0.3 s")


def test_the_reader_goes_through_the_guard(site: tuple[Site, str]) -> None:
    server, base = site
    with pytest.raises(LoadError) as refused:
        Reader(2**20, 5.0, "askdocs-test").read(SourceRef(f"{base}/handbook/leave.html"))
    assert refused.value.reason == f"127.0.0.1 is a loopback address; {PRIVATE_HINT}" and server.hits == []
    reader = Reader(2**20, 5.0, "askdocs-test", allow_private_network=True)
    raw = reader.read(SourceRef(f"{base}/handbook/print/leave.html"))
    assert raw.source == f"{base}/handbook/leave.html" and raw.content_type == "text/html"  # its canonical URL
    assert server.paths() == ["/handbook/print/leave.html"]  # a URL named by a person: robots.txt not read
    with pytest.raises(LoadError, match=re.escape("response is over the 1.0 KiB limit")):
        Reader(1024, 5.0, "askdocs-test", allow_private_network=True).read(SourceRef(f"{base}/big-stream"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_pages": 0}, "WebPolicy.max_pages must be more than 0, got 0"),
        ({"concurrency": 0}, "WebPolicy.concurrency must be more than 0, got 0"),
        ({"max_depth": -1}, "WebPolicy.max_depth must be 0 or more, got -1"),
        ({"delay_s": -0.5}, "WebPolicy.delay_s must be 0 or more, got -0.5"),
        (
            {"allow_prefixes": ("docs/",)},
            "WebPolicy.allow_prefixes: 'docs/' is not a URL path (it must start with '/')",
        ),
        ({"allow_networks": ("10.0.0.300/8",)}, "WebPolicy.allow_networks: '10.0.0.300/8' is not a network"),
        ({"allow_hosts": ("docs.*",)}, "WebPolicy.allow_hosts: use a host name, '*.domain' or '*'"),
    ],
)
def test_a_bad_policy_fails_at_construction(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        WebPolicy(**kwargs)  # type: ignore[arg-type]


def test_https_pins_the_checked_address_and_still_verifies_the_host_name(tmp_path: Path) -> None:
    """The fetcher connects to the address the guard checked, not to a second DNS answer, so TLS must still
    present the host's name (SNI) and verify the certificate against it."""
    ca, cert, key = make_certificates(tmp_path, "docs.test")
    dns = Resolver({"docs.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    site = Site()
    with running_tls(site, cert, key) as port:

        def fetch(url: str, ca_file: str | None) -> object:
            policy = WebPolicy(allow_hosts=("*",), allow_private_network=True, ca_file=ca_file, respect_robots=False)
            with page_fetcher(policy, None, dns) as pages:
                return pages.fetch(url).result

        page = fetch(f"https://docs.test:{port}/handbook/leave.html", str(ca))
        assert isinstance(page, Fetched) and page.url == f"https://docs.test:{port}/handbook/leave.html"
        assert site.hits[-1].headers["host"] == f"docs.test:{port}"
        mismatch = fetch(f"https://other.test:{port}/handbook/leave.html", str(ca))
        untrusted = fetch(f"https://docs.test:{port}/handbook/leave.html", None)
    assert isinstance(mismatch, Failed) and mismatch.reason.startswith(
        "cannot connect to other.test ([SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch"
    )
    assert isinstance(untrusted, Failed) and "unable to get local issuer certificate" in untrusted.reason
    assert len([h for h in site.hits if h.path == "/handbook/leave.html"]) == 1


def test_an_unreadable_ca_file_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=re.escape("cannot read the CA file /nonexistent/ca.pem ([Errno 2]")):
        fetch_page("https://docs.example/", WebPolicy(ca_file="/nonexistent/ca.pem"))
