"""DLCM301: an API endpoint has no method in the typed client."""

from ..findings import CheckContext, Rule
from .dlcm2_shared import api_links, client_source_paths, display_path, is_wildcard, optional_tail, path_matches


def check(ctx: CheckContext):
    model = ctx.head
    if not any(p.is_client for p in model.packages) or not model.client_methods:
        return
    links = api_links(ctx)
    served = links.served_packages()  # API packages the client talks to
    for ri, rt in enumerate(links.routes):
        if rt.package not in served or links.route_clients(ri):
            continue
        if rt.method == "ALL" or is_wildcard(rt):
            continue  # middleware and catch-all handlers are not endpoints of the typed client
        if links.route_prefix and not rt.path.startswith(links.route_prefix + "/"):
            continue  # outside the client's base URL (`/healthz` next to `/api/...`): not the client's API
        written = client_source_paths(ctx)
        if written and any(path_matches(rt.path, p, optional_tail(rt.raw_path))
                           or (links.route_prefix and rt.path.startswith(links.route_prefix + "/")
                               and path_matches(rt.path[len(links.route_prefix):], p)) for p in written):
            continue  # the client builds this path in a way the extractor does not follow
        client = links.client_for_package(rt.package)
        shown = display_path(rt.raw_path)
        call = f"{rt.method} {links.expected_client_path(rt)}"
        if client is not None:
            cls, file = client
            target = f"add a method to `{cls}` in {file}" if cls else f"add a function to {file}"
        else:
            target = "add a method to the client package"
        yield RULE.finding(
            f"Endpoint `{rt.method} {shown}` has no client method: {target} that calls `{call}` "
            f"(consumers must not build URLs themselves). If the endpoint is not meant for consumers, "
            f"say so with `// dlcm-ignore DLCM301: <reason>` above it.",
            rt.file, rt.line, key=f"{rt.method} {rt.path}")


RULE = Rule(
    id="DLCM301", name="endpoint-without-client-method", title="API endpoint has no client method",
    severity="error", category="api", check=check,
    why="Consumers call the Database Service only through its typed client; an endpoint the client does not "
        "offer is unreachable or gets called with hand-built URLs that break silently.",
    fix="Add a method to the client class that calls the endpoint with the same HTTP method and path.",
)
