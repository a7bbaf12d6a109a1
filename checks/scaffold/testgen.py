"""Tests of a scaffolded change, in the repository's test framework and with its own helpers:
unit tests of the Memory repository, integration tests of the API through `app.request(...)`
with Memory repositories (the repository's `setup()` helper when it has one)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from ..model import Column
from .conventions import Conventions, table_alias
from .fieldprop import sample_value
from .layers import Endpoint, Entity, _import_line, _owner_cols, _sorted_imports
from .names import kebab
from .project import Project
from .sqlgen import render
from .tsedit import Doc, imports, member_name, members
from .typesgen import insert_optional


@dataclass
class Harness:
    """How a test gets an app with Memory repositories: `const { call, repos } = setup()`."""

    lines: list[str]  # import lines
    prelude: str  # code before the describe (fallback setup function)
    setup: str  # "setup"
    call: str  # "call"


def harness(project: Project, conv: Conventions, test_file: str) -> Harness | None:
    fw = [f"import {{ describe, expect, it }} from '{conv.test_import}'"] if conv.test_import else []
    if conv.helpers_file and conv.setup_fn and conv.call_fn:
        return Harness(fw + [_import_line(project, test_file, names=[conv.setup_fn], file=conv.helpers_file)], "",
                       conv.setup_fn, conv.call_fn)
    factory = _memory_factory(project, conv)
    app_fn = _app_factory(project, conv)
    if factory is None or app_fn is None:
        return None
    lines = fw + [_import_line(project, test_file, names=[app_fn], file=conv.app_file),
                  _import_line(project, test_file, names=[factory], file=conv.registry_file)]
    prelude = (f"function setup() {{\n  const repos = {factory}()\n  const app = {app_fn}(repos)\n"
               f"  const call = (method: string, path: string, body?: unknown) =>\n"
               f"    app.request(path, {{\n      method,\n      headers: {{ 'content-type': 'application/json' }},\n"
               f"      body: body === undefined ? undefined : JSON.stringify(body),\n    }})\n"
               f"  return {{ app, repos, call }}\n}}")
    return Harness(lines, prelude, "setup", "call")


def _memory_factory(project: Project, conv: Conventions) -> str | None:
    if not conv.registry_file:
        return None
    doc = Doc(conv.registry_file, project.read(conv.registry_file) or "")
    mem = {i.name for i in project.model.implementations if i.flavour == "memory"}
    for fn in doc.walk("function_declaration"):
        body = doc.t(fn.child_by_field_name("body"))
        if any(f"new {m}" in body for m in mem):
            return doc.t(fn.child_by_field_name("name"))
    return None


def _app_factory(project: Project, conv: Conventions) -> str | None:
    if not conv.app_file:
        return None
    doc = Doc(conv.app_file, project.read(conv.app_file) or "")
    for fn in doc.walk("function_declaration"):
        params = doc.t(fn.child_by_field_name("parameters"))
        if conv.registry_name and conv.registry_name in params:
            return doc.t(fn.child_by_field_name("name"))
    return None


# --------------------------------------------------------------------------- samples


def create_sample(project: Project, conv: Conventions, e: Entity, n: int = 1, extra: dict | None = None,
                  only_required: bool = True) -> dict[str, str] | None:
    """Field -> TS literal of an input for `e`'s `create`, None when `create` takes something else."""
    if not e.new:
        repo = e.repo
        create = next((m for m in repo.methods if m.name == "create"), None) if repo else None
        if create is None or len(create.params) != 1 or create.params[0].type != e.insert:
            return None
        if not _plain_insert_alias(project, conv, e):
            return None
    out: dict[str, str] = {}
    for c in e.writable():
        if only_required and insert_optional(c):
            continue
        out[c.name] = sample_value(project, c, n)
    out.update(extra or {})
    return out


def _plain_insert_alias(project: Project, conv: Conventions, e: Entity) -> bool:
    if not conv.types_file:
        return False
    doc = Doc(conv.types_file, project.read(conv.types_file) or "")
    for a in doc.walk("type_alias_declaration"):
        if doc.t(a.child_by_field_name("name")) == e.insert:
            v = a.child_by_field_name("value")
            kind, table, _ = table_alias(doc, v)
            return kind == "Insert" and table == e.name and v.type != "intersection_type"
    return False


def obj(fields: dict[str, str]) -> str:
    return "{ " + ", ".join(f"{k}: {v}" for k, v in fields.items()) + " }" if fields else "{}"


def _second_value(project: Project, c: Column) -> str:
    return sample_value(project, c, 2)


def _updatable(project: Project, e: Entity) -> Column | None:
    for c in e.writable():
        if c.name in _owner_cols(project, e):
            continue
        v = sample_value(project, c, 2)
        if v not in ("crypto.randomUUID()", "true", "{}", "[]", "new Date().toISOString()") and not v.startswith("'2024"):
            return c
    return None


# --------------------------------------------------------------------------- new table


def new_table_tests(project: Project, conv: Conventions, e: Entity, eps: list[Endpoint]) -> None:
    tdir = conv.tests_dir
    kinds = {ep.method.kind: ep for ep in eps}
    sample = create_sample(project, conv, e, 1)
    sample2 = create_sample(project, conv, e, 2)
    upd = _updatable(project, e)
    owner = next((ep for ep in eps if ep.method.kind == "list_by"), None)
    # ---- the Memory repository
    path = posixpath.join(tdir, f"{kebab(e.E)}-repository.test.ts")
    lines = [f"import {{ describe, expect, it }} from '{conv.test_import}'"] if conv.test_import else []
    lines.append(_import_line(project, path, names=[e.mem_cls], file=e.mem_file))
    v = e.var
    cases = []
    cases.append(f"""  it('creates a {human_e(e)} and finds it by id', async () => {{
    const repo = new {e.mem_cls}()
    const input = {obj(sample)}
    const {v} = await repo.create(input)
    expect({v}).toMatchObject(input)
    expect(await repo.findById({v}.id)).toEqual({v})
    expect(await repo.findById(crypto.randomUUID())).toBeNull()
  }})""")
    if owner is not None:
        m = owner.method
        col = m.column
        cases.append(f"""  it('lists the {human_es(e)} of one {m.parent.var if m.parent else col}', async () => {{
    const repo = new {e.mem_cls}()
    const {m.param.name} = crypto.randomUUID()
    const mine = await repo.create({obj({**sample, col: m.param.name})})
    await repo.create({obj({**sample2, col: 'crypto.randomUUID()'})})
    expect((await repo.{m.name}({m.param.name})).map((row) => row.id)).toEqual([mine.id])
  }})""")
    elif "list" in kinds:
        cases.append(f"""  it('lists {human_es(e)}', async () => {{
    const repo = new {e.mem_cls}()
    const {v} = await repo.create({obj(sample)})
    expect((await repo.{kinds['list'].method.name}()).map((row) => row.id)).toEqual([{v}.id])
  }})""")
    if "update" in kinds and upd is not None:
        val = _second_value(project, upd)
        cases.append(f"""  it('updates a {human_e(e)}', async () => {{
    const repo = new {e.mem_cls}()
    const {v} = await repo.create({obj(sample)})
    const updated = await repo.update({v}.id, {{ {upd.name}: {val} }})
    expect(updated).toMatchObject({{ id: {v}.id, {upd.name}: {val} }})
    expect(await repo.update(crypto.randomUUID(), {{ {upd.name}: {val} }})).toBeNull()
  }})""")
    if "delete" in kinds:
        cases.append(f"""  it('deletes a {human_e(e)}', async () => {{
    const repo = new {e.mem_cls}()
    const {v} = await repo.create({obj(sample)})
    expect(await repo.delete({v}.id)).toBe(true)
    expect(await repo.findById({v}.id)).toBeNull()
    expect(await repo.delete({v}.id)).toBe(false)
  }})""")
    text = render("repository.test.ts.j2", import_lines=_sorted_imports(lines), class_name=e.mem_cls, cases=cases)
    project.create(path, project.code(path, text))
    # ---- the API
    path = posixpath.join(tdir, f"{kebab(e.name)}.test.ts")
    h = harness(project, conv, path)
    if h is None:
        project.notes.append(f"no test helper that builds the app with Memory repositories: write the API tests "
                             f"of /{e.name} by hand")
        return
    call = h.call
    base = "/" + e.name.replace("_", "-") if False else None
    create_ep = kinds.get("create")
    get_ep = kinds.get("find_by_id")
    cases = []
    if create_ep and get_ep:
        root = create_ep.path
        body = [f"""  it('creates, reads{', updates' if 'update' in kinds and upd else ''}{' and deletes' if 'delete' in kinds else ''} a {human_e(e)}', async () => {{
    const {{ {call} }} = {h.setup}()
    const input = {obj(sample)}
    const created = await {call}('POST', '{root}', input)
    expect(created.status).toBe(201)
    const {v} = await created.json()
    expect({v}).toMatchObject(input)
    expect(await (await {call}('GET', `{root}/${{{v}.id}}`)).json()).toEqual({v})"""]
        if "update" in kinds and upd is not None:
            val = _second_value(project, upd)
            body.append(f"""
    const updated = await {call}('PATCH', `{root}/${{{v}.id}}`, {{ {upd.name}: {val} }})
    expect(updated.status).toBe(200)
    expect(await updated.json()).toMatchObject({{ id: {v}.id, {upd.name}: {val} }})""")
        if "delete" in kinds:
            body.append(f"""
    expect((await {call}('DELETE', `{root}/${{{v}.id}}`)).status).toBe(204)
    expect((await {call}('GET', `{root}/${{{v}.id}}`)).status).toBe(404)""")
        body.append("  })")
        cases.append("\n".join(body))
        checks = [f"    expect((await {call}('GET', `{root}/${{crypto.randomUUID()}}`)).status).toBe(404)"]
        if sample:
            checks.insert(0, f"    expect((await {call}('POST', '{root}', {{}})).status).toBe(400)")
        if "update" in kinds and upd is not None:
            val = _second_value(project, upd)
            checks.append(f"    expect((await {call}('PATCH', `{root}/${{crypto.randomUUID()}}`, {{}})).status).toBe(400)")
            checks.append(f"    expect((await {call}('PATCH', `{root}/${{crypto.randomUUID()}}`, "
                          f"{{ {upd.name}: {val} }})).status).toBe(404)")
        cases.append(f"  it('answers 400 for invalid bodies and 404 for unknown {human_es(e)}', async () => {{\n"
                     f"    const {{ {call} }} = {h.setup}()\n" + "\n".join(checks) + "\n  })")
    if owner is not None and owner.method.parent is not None:
        cases.append(_list_by_parent_case(project, conv, h, owner, sample))
    text = render("routes.test.ts.j2", import_lines=_sorted_imports(h.lines), title=f"{human_es(e)} routes",
                  cases=cases)
    if h.prelude:
        text = text.replace("\ndescribe(", f"\n{h.prelude}\n\ndescribe(", 1)
    project.create(path, project.code(path, text))


def _list_by_parent_case(project: Project, conv: Conventions, h: Harness, ep: Endpoint, sample: dict) -> str:
    m, e = ep.method, ep.entity
    p = m.parent
    psample = create_sample(project, conv, p, 1)
    url = ep.path.replace(f":{ep.params[-1]}", "${" + p.var + ".id}")
    unknown = ep.path.replace(f":{ep.params[-1]}", "${crypto.randomUUID()}")
    if psample is None:
        return (f"  it('answers 404 for the {human_es(e)} of an unknown {p.var}', async () => {{\n"
                f"    const {{ {h.call} }} = {h.setup}()\n"
                f"    expect((await {h.call}('GET', `{unknown}`)).status).toBe(404)\n  }})")
    return f"""  it('lists the {human_es(e)} of a {human_e(p)}', async () => {{
    const {{ {h.call}, repos }} = {h.setup}()
    const {p.var} = await repos.{p.key}.create({obj(psample)})
    const {e.var} = await repos.{e.key}.create({obj({**sample, m.column: p.var + '.id'})})
    await repos.{e.key}.create({obj({**create_sample(project, conv, e, 2), m.column: 'crypto.randomUUID()'})})
    const res = await {h.call}('GET', `{url}`)
    expect(res.status).toBe(200)
    expect((await res.json()).map((row: {{ id: string }}) => row.id)).toEqual([{e.var}.id])
    expect((await {h.call}('GET', `{unknown}`)).status).toBe(404)
  }})"""


def human_e(e: Entity) -> str:
    from .names import human, singular

    return human(singular(e.name))


def human_es(e: Entity) -> str:
    from .names import human

    return human(e.name)


# --------------------------------------------------------------------------- api endpoint


def endpoint_tests(project: Project, conv: Conventions, ep: Endpoint, new_method: bool) -> str | None:
    e, m = ep.entity, ep.method
    slug = "-".join(s for s in ep.path.strip("/").replace("_", "-").split("/") if not s.startswith(":"))
    path = posixpath.join(conv.tests_dir, f"{slug}.test.ts" if ep.verb == "GET" else f"{slug}-{ep.verb.lower()}.test.ts")
    if project.exists(path):
        path = path.replace(".test.ts", f"-{kebab(m.name)}.test.ts")
    h = harness(project, conv, path)
    sample = create_sample(project, conv, e, 1)
    sample2 = create_sample(project, conv, e, 2)
    if sample is None:
        project.notes.append(f"`{e.iface}.create` does not take a plain `{e.insert}`: write the tests of "
                             f"{ep.verb} {ep.path} by hand")
        return None
    lines = list(h.lines) if h else ([f"import {{ describe, expect, it }} from '{conv.test_import}'"]
                                     if conv.test_import else [])
    v = e.var
    blocks = []
    route = f"{ep.verb} {ep.path}"
    if new_method:
        lines.append(_import_line(project, path, names=[e.mem_cls], file=e.mem_file))
        blocks.append(f"describe('{e.mem_cls}.{m.name}', () => {{\n{_repo_case(project, e, m, sample, sample2)}\n}})")
    if h is not None:
        blocks.append(f"describe('{route}', () => {{\n{_route_case(project, conv, h, ep, sample, sample2)}\n}})")
    else:
        project.notes.append(f"no test helper that builds the app with Memory repositories: test {route} by hand")
    if not blocks:
        return None
    text = "\n".join(_sorted_imports(lines)) + "\n\n" + ((h.prelude + "\n\n") if h and h.prelude else "") + \
        "\n\n".join(blocks) + "\n"
    project.create(path, project.code(path, text))
    return path


def _lookup_value(m, v: str) -> str:
    return f"{v}.{m.column}"


def _repo_case(project: Project, e: Entity, m, sample: dict, sample2: dict) -> str:
    v = e.var
    if m.kind in ("find_by", "list_by") and m.column:
        if m.kind == "find_by":
            return f"""  it('finds a {human_e(e)} by {m.column}', async () => {{
    const repo = new {e.mem_cls}()
    const {v} = await repo.create({obj(sample)})
    await repo.create({obj(sample2)})
    expect(await repo.{m.name}({v}.{m.column})).toEqual({v})
    expect(await repo.{m.name}({_missing(project, e, m.column)})).toBeNull()
  }})"""
        return f"""  it('lists the {human_es(e)} with a given {m.column}', async () => {{
    const repo = new {e.mem_cls}()
    const {v} = await repo.create({obj(sample)})
    expect((await repo.{m.name}({v}.{m.column})).map((row) => row.id)).toContain({v}.id)
  }})"""
    if m.kind == "update":
        upd = _updatable(project, e)
        val = _second_value(project, upd)
        return f"""  it('updates a {human_e(e)}', async () => {{
    const repo = new {e.mem_cls}()
    const {v} = await repo.create({obj(sample)})
    expect(await repo.{m.name}({v}.id, {{ {upd.name}: {val} }})).toMatchObject({{ id: {v}.id, {upd.name}: {val} }})
    expect(await repo.{m.name}(crypto.randomUUID(), {{ {upd.name}: {val} }})).toBeNull()
  }})"""
    if m.kind == "create":
        return f"""  it('creates a {human_e(e)}', async () => {{
    const repo = new {e.mem_cls}()
    const input = {obj(sample)}
    const {v} = await repo.{m.name}(input)
    expect({v}).toMatchObject(input)
    expect(await repo.findById({v}.id)).toEqual({v})
  }})"""
    if m.kind == "delete":
        return f"""  it('deletes a {human_e(e)}', async () => {{
    const repo = new {e.mem_cls}()
    const {v} = await repo.create({obj(sample)})
    expect(await repo.{m.name}({v}.id)).toBe(true)
    expect(await repo.findById({v}.id)).toBeNull()
    expect(await repo.{m.name}({v}.id)).toBe(false)
  }})"""
    if m.kind == "list":
        return f"""  it('lists {human_es(e)}', async () => {{
    const repo = new {e.mem_cls}()
    const {v} = await repo.create({obj(sample)})
    expect((await repo.{m.name}()).map((row) => row.id)).toContain({v}.id)
  }})"""
    return f"""  it('finds a {human_e(e)} by id', async () => {{
    const repo = new {e.mem_cls}()
    const {v} = await repo.create({obj(sample)})
    expect(await repo.{m.name}({v}.id)).toEqual({v})
  }})"""


def _missing(project: Project, e: Entity, column: str) -> str:
    from .typesgen import gen_ts_type

    t = gen_ts_type(project.model, e.table.columns[column].type)
    return "-1" if t == "number" else "'missing'"


def _route_case(project: Project, conv: Conventions, h: Harness, ep: Endpoint, sample: dict, sample2: dict) -> str:
    e, m = ep.entity, ep.method
    v = e.var
    call = h.call
    pname = ep.params[-1] if ep.params else None
    if m.kind == "list_by" and m.parent is not None:
        return _list_by_parent_case(project, conv, h, ep, sample)
    if m.kind == "create":
        req = f"""    expect((await {call}('POST', '{ep.path}', {{}})).status).toBe(400)\n""" if sample else ""
        return f"""  it('creates a {human_e(e)}', async () => {{
    const {{ {call} }} = {h.setup}()
    const input = {obj(sample)}
    const res = await {call}('POST', '{ep.path}', input)
    expect(res.status).toBe(201)
    expect(await res.json()).toMatchObject(input)
{req}  }})"""
    if m.kind == "update":
        upd = _updatable(project, e)
        val = _second_value(project, upd)
        url = ep.path.replace(f":{pname}", "${" + v + ".id}")
        unknown = ep.path.replace(f":{pname}", "${crypto.randomUUID()}")
        return f"""  it('updates a {human_e(e)}', async () => {{
    const {{ {call}, repos }} = {h.setup}()
    const {v} = await repos.{e.key}.create({obj(sample)})
    const res = await {call}('{ep.verb}', `{url}`, {{ {upd.name}: {val} }})
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({{ id: {v}.id, {upd.name}: {val} }})
    expect((await {call}('{ep.verb}', `{url}`, {{}})).status).toBe(400)
    expect((await {call}('{ep.verb}', `{unknown}`, {{ {upd.name}: {val} }})).status).toBe(404)
  }})"""
    value = f"{v}.{m.column}" if m.kind in ("find_by", "list_by") and m.column else f"{v}.id"
    url = ep.path.replace(f":{pname}", "${" + value + "}") if pname else ep.path
    what = {"find_by_id": f"finds a {human_e(e)} by id", "find_by": f"finds a {human_e(e)} by {m.column}",
            "list": f"lists {human_es(e)}", "list_by": f"lists {human_es(e)} by {m.column}",
            "delete": f"deletes a {human_e(e)}"}.get(m.kind, f"answers {ep.verb} {ep.path}")
    head = f"""  it('{what}', async () => {{
    const {{ {call}, repos }} = {h.setup}()
    const {v} = await repos.{e.key}.create({obj(sample)})
    const res = await {call}('{ep.verb}', `{url}`)"""
    if m.kind in ("find_by_id", "find_by"):
        missing = _missing(project, e, m.column or "id").strip("'")
        miss_url = ep.path.replace(f":{pname}", missing if m.kind == "find_by" else "${crypto.randomUUID()}")
        miss_url = f"`{miss_url}`" if "${" in miss_url else f"'{miss_url}'"
        return head + f"""
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({v})
    expect((await {call}('GET', {miss_url})).status).toBe(404)
  }})"""
    if m.kind in ("list", "list_by"):
        return head + f"""
    expect(res.status).toBe(200)
    expect((await res.json()).map((row: {{ id: string }}) => row.id)).toContain({v}.id)
  }})"""
    if m.kind == "delete":
        return head + f"""
    expect(res.status).toBe(204)
    expect(await repos.{e.key}.findById({v}.id)).toBeNull()
    expect((await {call}('{ep.verb}', `{url}`)).status).toBe(404)
  }})"""
    return head + """
    expect(res.status).toBeLessThan(500)
  })"""


# --------------------------------------------------------------------------- add field


def add_field_tests(project: Project, conv: Conventions, e: Entity, col: Column, via_api: bool,
                    create_route: str | None, update_route: str | None) -> str | None:
    sample = create_sample(project, conv, e, 1)
    if sample is None:
        project.notes.append(f"`{e.iface}.create` does not take a plain `{e.insert}`: write the tests of "
                             f"{e.name}.{col.name} by hand")
        return None
    path = posixpath.join(conv.tests_dir, f"{kebab(e.name)}-{kebab(col.name)}.test.ts")
    h = harness(project, conv, path)
    v = e.var
    value = sample_value(project, col, 1)
    value2 = sample_value(project, col, 2)
    lines = list(h.lines) if h else ([f"import {{ describe, expect, it }} from '{conv.test_import}'"]
                                     if conv.test_import else [])
    lines.append(_import_line(project, path, names=[e.mem_cls], file=e.mem_file))
    methods = {m.name for m in (e.repo.methods if e.repo else [])}
    cases = []
    body = [f"""  it('stores {col.name} in {e.mem_cls}', async () => {{
    const repo = new {e.mem_cls}()
    const {v} = await repo.create({obj({**sample, col.name: value})})
    expect({v}.{col.name}).toEqual({value})"""]
    if "findById" in methods:
        body.append(f"    expect((await repo.findById({v}.id))?.{col.name}).toEqual({value})")
    if "update" in methods:
        body.append(f"    expect((await repo.update({v}.id, {{ {col.name}: {value2} }}))?.{col.name}).toEqual({value2})")
    body.append("  })")
    cases.append("\n".join(body))
    dflt = "null" if col.nullable else None
    if dflt is None and col.default is not None:
        from .sqlgen import ts_default
        from .typesgen import gen_ts_type

        d = ts_default(col, gen_ts_type(project.model, col.type))
        dflt = None if d in ("now", "crypto.randomUUID()") else d
    if dflt is not None:
        cases.append(f"""  it('defaults {col.name} to {dflt}', async () => {{
    const {v} = await new {e.mem_cls}().create({obj(sample)})
    expect({v}.{col.name}).{"toBeNull()" if dflt == "null" else f"toEqual({dflt})"}
  }})""")
    if h is not None and create_route:
        api = [f"""  it('accepts and returns {col.name} through the API', async () => {{
    const {{ {h.call} }} = {h.setup}()"""]
        if via_api:
            api.append(f"""    const created = await {h.call}('POST', '{create_route}', {obj({**sample, col.name: value})})
    expect(created.status).toBe(201)
    const {v} = await created.json()
    expect({v}.{col.name}).toEqual({value})""")
            if update_route:
                url = update_route.replace(":" + update_route.rsplit(":", 1)[-1].split("/")[0], "${" + v + ".id}")
                api.append(f"""    const updated = await {h.call}('PATCH', `{url}`, {{ {col.name}: {value2} }})
    expect(updated.status).toBe(200)
    expect((await updated.json()).{col.name}).toEqual({value2})""")
        else:
            api[0] = api[0].replace("accepts and returns", "returns")
            api.append(f"""    const created = await {h.call}('POST', '{create_route}', {obj(sample)})
    expect(created.status).toBe(201)
    expect(await created.json()).toHaveProperty('{col.name}')""")
        api.append("  })")
        cases.append("\n".join(api))
    text = render("routes.test.ts.j2", import_lines=_sorted_imports(lines), title=f"{e.name}.{col.name}", cases=cases)
    if h is not None and h.prelude:
        text = text.replace("\ndescribe(", f"\n{h.prelude}\n\ndescribe(", 1)
    project.create(path, project.code(path, text))
    return path
