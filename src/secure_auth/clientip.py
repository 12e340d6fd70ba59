"""The client's IP address behind reverse proxies, without trusting spoofs.

``X-Forwarded-For`` is written by whoever sends the request: a client can put
any address in it. Only the entries that *your own* proxies appended can be
believed, and each proxy appends the address it received the request from,
at the right end. So with ``trusted_proxies = N`` (the number of proxies in
front of the application, each appending one entry) the client is the
N-th address from the right of ``X-Forwarded-For, remote_addr``, and
everything left of it is the client's own claim, ignored.

``trusted_proxies = 0`` (the default everywhere) ignores the header: the
peer address is the client. Set it to the number of proxies you run, never
more: one too many lets a client choose its address (and its throttling
budget); one too few makes every client share the proxy's address.
"""

from __future__ import annotations

import ipaddress

__all__ = ["client_ip", "parse_ip"]


def parse_ip(value: str | None) -> str | None:
    """``value`` as a canonical IP address, or ``None`` if it is not one.

    Accepts ``192.0.2.1``, ``192.0.2.1:8080``, ``2001:db8::1``,
    ``[2001:db8::1]`` and ``[2001:db8::1]:443`` (what proxies write);
    a zone index (``%eth0``) is dropped.
    """
    if value is None:
        return None
    text = value.strip().strip('"')
    if text.startswith("["):
        end = text.find("]")
        if end == -1:
            return None
        text = text[1:end]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.split(":", 1)[0]
    text = text.split("%", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def client_ip(
    remote_addr: str | None, forwarded_for: str | None, trusted_proxies: int = 0
) -> str | None:
    """The client's address, believing only ``trusted_proxies`` proxies.

    Args:
        remote_addr: the TCP peer (``REMOTE_ADDR``, ``request.client.host``).
        forwarded_for: the ``X-Forwarded-For`` value; several header lines
            joined with ``","`` as HTTP says.
        trusted_proxies: how many proxies of yours stand in front of the
            application, each appending one entry.

    Returns:
        The canonical address, or ``None`` when ``remote_addr`` is not an IP
        address. The walk from the right stops at the first entry that is
        not an IP address, and answers with the last good one: a trusted
        proxy never writes garbage, so garbage means the chain is shorter
        than configured, and the nearest trustworthy address is the safe
        answer (a client can never pick its own).

    Raises:
        ValueError: ``trusted_proxies`` is negative.
    """
    if trusted_proxies < 0:
        raise ValueError("trusted_proxies must not be negative")
    peer = parse_ip(remote_addr)
    if peer is None or trusted_proxies == 0 or not forwarded_for:
        return peer
    hops = [h for h in (part.strip() for part in forwarded_for.split(",")) if h]
    found = peer
    for hop in reversed(hops[-trusted_proxies:]):
        address = parse_ip(hop)
        if address is None:
            break
        found = address
    return found
