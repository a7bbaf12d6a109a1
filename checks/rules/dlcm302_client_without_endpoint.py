"""DLCM302: a client method calls an endpoint the API does not have."""

import re

from ..findings import CheckContext, Rule
from .dlcm2_shared import api_links, display_path, optional_tail, path_matches, segments, source_lines

PLATFORM_PREFIXES = ("/functions/v1/", "/rest/v1/", "/auth/v1/", "/storage/v1/", "/realtime/v1/", "/graphql/v1")


def check(ctx: CheckContext):
    model = ctx.head
    if not model.routes or not model.client_methods:
        return
    links = api_links(ctx)
    linked = links.linked_client_groups()  # clients that call this repository's API at all
    api_pkgs = sorted({p for p in links.served_packages() if p})
    for ci, cm in enumerate(links.clients):
        if links.client_routes(ci) or (cm.package, cm.class_name) not in linked:
            continue
        if cm.path.startswith(PLATFORM_PREFIXES):
            continue  # Supabase's own APIs (edge functions, storage, auth) are not endpoints of this repository
        if _calls_other_host(ctx, cm):
            continue  # `fetch('https://api.other.com/latest')`: another service's endpoint
        owner = f"{cm.class_name}.{cm.name}" if cm.class_name else cm.name
        shown = display_path(cm.raw_path)
        other = sorted({r.method for r in links.routes
                        if path_matches(r.path, cm.path, optional_tail(r.raw_path))
                        or (links.route_prefix and r.path.startswith(links.route_prefix + "/")
                            and path_matches(r.path[len(links.route_prefix):], cm.path))})
        if other:
            hint = (f"the API has `{shown}` only for {', '.join(other)}: fix the HTTP method or add a "
                    f"`{cm.http_method}` handler")
        else:
            near = _nearest_route_file(links, cm)
            api = f" in {near}" if near else (f" in {', '.join(api_pkgs)}" if api_pkgs else "")
            hint = f"add a `{cm.http_method}` handler for it{api} or fix the client's path"
        yield RULE.finding(
            f"Client method `{owner}` calls `{cm.http_method} {shown}` but no endpoint matches it; {hint}.",
            cm.file, cm.line, key=f"{owner} {cm.http_method} {cm.path}")


def _calls_other_host(ctx: CheckContext, cm) -> bool:
    """The method's body names an absolute URL (`'https://...'`): not this repository's API."""
    lines = source_lines(ctx, cm.file)
    if not lines or not (1 <= cm.line <= len(lines)):
        return False
    start = cm.line - 1
    indent = len(lines[start]) - len(lines[start].lstrip())
    for i in range(start, min(len(lines), start + 40)):
        ln = lines[i]
        if re.search(r"""[`'"]https?://[A-Za-z0-9]""", ln):
            return True
        if i > start and ln.strip() and len(ln) - len(ln.lstrip()) <= indent:
            break  # the method ended
    return False


def _nearest_route_file(links, cm) -> str | None:
    """The routes file serving the longest literal prefix of the client path (where the endpoint belongs)."""
    cs = segments(cm.path)
    best, best_n = None, 0
    for r in links.routes:
        rs = segments(r.path)
        if links.route_prefix and r.path.startswith(links.route_prefix + "/"):
            rs = segments(r.path[len(links.route_prefix):])
        n = 0
        for a, b in zip(rs, cs):
            if a != b or a == "{}":
                break
            n += 1
        if n > best_n:
            best, best_n = r.file, n
    return best


RULE = Rule(
    id="DLCM302", name="client-method-without-endpoint", title="Client method calls no existing endpoint",
    severity="error", category="api", check=check,
    why="A client method whose endpoint does not exist (wrong path, wrong HTTP method, endpoint removed) fails "
        "at run time with 404/405 in every consumer that calls it.",
    fix="Add the endpoint to the service or fix the client method's path and HTTP method.",
)
