"""The client's address, as the throttles and the login lock-out count it.

Behind a reverse proxy every request comes from the proxy's address; the client's own is the
last one the proxy appended to X-Forwarded-For. ``EMOLAB_PROXY_COUNT`` says how many proxies
(each appending one address) stand in front of the site: the client is that many entries from
the end. Entries further left are whatever the client sent and are never trusted. With 0 (no
proxy) X-Forwarded-For is ignored, so a client cannot pick an address to dodge its limits.
"""

from django.conf import settings


def client_ip(request) -> str:
    remote_addr = request.META.get("REMOTE_ADDR") or ""
    proxies = int(getattr(settings, "EMOLAB_PROXY_COUNT", 0))
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies <= 0 or not forwarded:
        return remote_addr
    addresses = [address.strip() for address in forwarded.split(",")]
    return addresses[-min(proxies, len(addresses))] or remote_addr
