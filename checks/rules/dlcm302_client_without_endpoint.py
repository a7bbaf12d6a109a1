"""DLCM302: a client method calls an endpoint the API does not have."""

from ..findings import CheckContext, Rule
from .dlcm2_shared import api_links, display_path, path_matches, optional_tail


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
            api = f" in {', '.join(api_pkgs)}" if api_pkgs else ""
            hint = (f"add the endpoint{api} (e.g. `router.{cm.http_method.lower()}('...')` in its routes) "
                    f"or fix the path")
        yield RULE.finding(
            f"Client method `{owner}` calls `{cm.http_method} {shown}` but no endpoint matches it; {hint}.",
            cm.file, cm.line, key=f"{owner} {cm.http_method} {cm.path}")


RULE = Rule(
    id="DLCM302", name="client-method-without-endpoint", title="Client method calls no existing endpoint",
    severity="error", category="api", check=check,
    why="A client method whose endpoint does not exist (wrong path, wrong HTTP method, endpoint removed) fails "
        "at run time with 404/405 in every consumer that calls it.",
    fix="Add the endpoint to the service or fix the client method's path and HTTP method.",
)
