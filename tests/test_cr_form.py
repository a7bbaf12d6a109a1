"""The change-request issue form and the parser of the bodies GitHub renders from it."""

from __future__ import annotations

import datetime as dt
import re

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.changes.form import FIELDS, OPTIONS, normalize_path, parse_column_line, parse_issue_body
from checks.changes.init_files import issue_form_text
from checks.changes.request import ChangeRequest
from tests.test_cr_helpers import fixture

# GitHub's documented issue-form syntax (top-level keys, body element types and their attributes).
ISSUE_FORM_SCHEMA = {
    "type": "object",
    "required": ["name", "description", "body"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": r"\S"},
        "description": {"type": "string", "pattern": r"\S"},
        "title": {"type": "string"},
        "labels": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]},
        "assignees": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]},
        "projects": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]},
        "type": {"type": "string"},
        "body": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/element"}},
    },
    "$defs": {
        "id": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
        "validations": {"type": "object", "additionalProperties": False,
                        "properties": {"required": {"type": "boolean"}}},
        "element": {
            "type": "object",
            "required": ["type", "attributes"],
            "oneOf": [
                {"additionalProperties": False, "properties": {
                    "type": {"const": "markdown"}, "id": {"$ref": "#/$defs/id"},
                    "attributes": {"type": "object", "required": ["value"], "additionalProperties": False,
                                   "properties": {"value": {"type": "string", "pattern": r"\S"}}}}},
                {"additionalProperties": False, "properties": {
                    "type": {"enum": ["input", "textarea"]}, "id": {"$ref": "#/$defs/id"},
                    "validations": {"$ref": "#/$defs/validations"},
                    "attributes": {"type": "object", "required": ["label"], "additionalProperties": False,
                                   "properties": {"label": {"type": "string", "pattern": r"\S"},
                                                  "description": {"type": "string"},
                                                  "placeholder": {"type": "string"},
                                                  "value": {"type": "string"}, "render": {"type": "string"}}}}},
                {"additionalProperties": False, "properties": {
                    "type": {"const": "dropdown"}, "id": {"$ref": "#/$defs/id"},
                    "validations": {"$ref": "#/$defs/validations"},
                    "attributes": {"type": "object", "required": ["label", "options"], "additionalProperties": False,
                                   "properties": {"label": {"type": "string", "pattern": r"\S"},
                                                  "description": {"type": "string"},
                                                  "multiple": {"type": "boolean"},
                                                  "default": {"type": "integer", "minimum": 0},
                                                  "options": {"type": "array", "minItems": 1, "uniqueItems": True,
                                                              "items": {"type": "string", "pattern": r"\S"}}}}}},
                {"additionalProperties": False, "properties": {
                    "type": {"const": "checkboxes"}, "id": {"$ref": "#/$defs/id"},
                    "validations": {"$ref": "#/$defs/validations"},
                    "attributes": {"type": "object", "required": ["label", "options"], "additionalProperties": False,
                                   "properties": {"label": {"type": "string", "pattern": r"\S"},
                                                  "description": {"type": "string"},
                                                  "options": {"type": "array", "minItems": 1, "items": {
                                                      "type": "object", "required": ["label"],
                                                      "additionalProperties": False,
                                                      "properties": {"label": {"type": "string", "pattern": r"\S"},
                                                                     "required": {"type": "boolean"}}}}}}}},
            ],
        },
    },
}


@pytest.fixture(scope="module")
def form() -> dict:
    return yaml.safe_load(issue_form_text())


def test_issue_form_follows_githubs_form_schema(form):
    jsonschema.validate(form, ISSUE_FORM_SCHEMA)
    assert form["title"] == "[DLCM] "
    assert form["labels"] == ["data-layer-change"]
    fields = [e for e in form["body"] if e["type"] != "markdown"]
    ids = [e["id"] for e in fields]
    labels = [e["attributes"]["label"] for e in fields]
    assert len(set(ids)) == len(ids) and len(set(labels)) == len(labels)  # GitHub rejects duplicates
    for e in fields:
        assert isinstance(e["validations"]["required"], bool)
        for opt in e["attributes"].get("options", []):
            # "none" is reserved; unquoted yes/no would be booleans (the schema checks strings)
            assert str(opt).lower() != "none"
    kinds = {e["type"] for e in fields}
    assert {"input", "textarea", "dropdown", "checkboxes"} <= kinds


def test_form_fields_and_parser_share_one_definition(form):
    fields = {e["id"]: e for e in form["body"] if e["type"] != "markdown"}
    assert list(fields) == [f.id for f in FIELDS]
    for f in FIELDS:
        assert fields[f.id]["attributes"]["label"] == f.label
    assert fields["change_type"]["attributes"]["options"] == [
        "add-field", "new-table", "api-endpoint", "modify-field", "remove-field", "rename", "add-index", "other"]
    assert fields["breaking"]["attributes"]["options"] == ["no", "yes", "unsure"]
    assert [o["label"] for o in fields["options"]["attributes"]["options"]] == list(OPTIONS.values())
    for required in ("summary", "change_type", "breaking", "motivation"):
        assert fields[required]["validations"]["required"] is True


def test_rendered_submission_is_read_field_by_field():
    cr = parse_issue_body(fixture("add_field.md"))
    assert cr.problems == []
    assert cr.summary == "Loyalty points and birthday on users"
    assert cr.change_type == "add-field"
    assert [(t.schema_, t.name) for t in cr.tables] == [("public", "users")]
    assert [(c.name, c.type, c.nullable, c.default) for c in cr.columns] == [
        ("loyalty_points", "integer", False, "0"), ("birthday", "date", True, None)]
    assert cr.endpoints == []  # "_No response_"
    assert cr.components == ["database-service", "telegram-bot"]
    assert cr.breaking == "no"
    assert cr.rollback_plan.startswith("Drop both columns")
    assert cr.target_date == dt.date(2030, 3, 1)
    assert cr.options == {"expose-api": True, "backfill": False} and cr.expose_api
    assert cr.sections[:3] == ["summary", "change_type", "tables"]


def test_empty_submission_has_no_values_and_no_parse_problems():
    cr = parse_issue_body(fixture("empty.md"))
    assert cr.problems == []
    assert (cr.summary, cr.change_type, cr.breaking, cr.motivation, cr.target_date) == (None,) * 5
    assert cr.tables == cr.columns == cr.endpoints == []
    assert cr.options == {"expose-api": False, "backfill": False}


def test_hand_edited_body_crlf_headings_bold_labels_comments_fences():
    cr = parse_issue_body(fixture("hand_edited.md"))
    assert "\r\n" in fixture("hand_edited.md")
    assert cr.problems == []
    assert cr.summary == "Loyalty points on users"
    assert cr.change_type == "add-field"  # "**Change Type:** Add field"
    assert [t.qualified for t in cr.tables] == ["public.users"]  # a bullet with a code span
    assert [(c.name, c.type) for c in cr.columns] == [("loyalty_points", "integer")]  # fenced, SQL comment skipped
    assert cr.endpoints == []  # HTML comment + _No response_
    assert cr.breaking == "no"  # "No — purely additive" under "Breaking change?"
    assert cr.motivation == "Reward repeat customers.\nBackground\nThe bot team asked for it."
    assert cr.rollback_plan == "drop the column"
    assert cr.unknown_sections == ["Notes from the team"]


@pytest.mark.parametrize("line, expected", [
    ("phone text", [("phone", "text", None, None)]),
    ("phone: text", [("phone", "text", None, None)]),
    ("`phone text not null default ''`", [("phone", "text", False, "''")]),
    ("amount numeric(10, 2) not null", [("amount", "numeric(10,2)", False, None)]),
    ("created timestamp with time zone", [("created", "timestamptz", None, None)]),
    ("tags text[] default '{}'", [("tags", "text[]", None, "'{}'")]),
    ("status public.order_status", [("status", "public.order_status", None, None)]),
    ("kind character varying(20) null", [("kind", "varchar(20)", True, None)]),
    ("a int, b bigint", [("a", "integer", None, None), ("b", "bigint", None, None)]),
    ("phone not null", [("phone", None, False, None)]),
    ("phone", [("phone", None, None, None)]),
    ('"Phone" text', [("Phone", "text", None, None)]),
])
def test_column_lines(line, expected):
    specs, err = parse_column_line(line)
    assert err is None
    assert [(s.name, s.type, s.nullable, s.default) for s in specs] == expected


def test_column_line_qualifiers_renames_and_references():
    (s,), _ = parse_column_line("public.users.phone text")
    assert (s.table, s.name) == ("public.users", "phone")
    (s,), _ = parse_column_line("orders.note -> customer_note")
    assert (s.table, s.name, s.new_name) == ("orders", "note", "customer_note")
    (s,), _ = parse_column_line("user_id uuid not null references public.users(id) on delete cascade")
    assert s.references == "public.users.id" and s.nullable is False


@pytest.mark.parametrize("line", [
    "phone text; drop table users", "phone text); drop table users; --", "1abc text", "phone text default",
    "phone -> ", "weight numeric(10,",
])
def test_bad_column_lines_say_how_to_write_them(line):
    specs, err = parse_column_line(line)
    assert specs == [] and err
    assert "`" in err


def test_tables_endpoints_and_choices_are_tolerant():
    body = ("### Type\n\nRemove column\n\n### Tables\n\n`public.users`, orders\nsales.invoices -> bills, 9bad\n\n"
            "### Endpoints\n\n- GET /users/:id/orders\n- post /orders\n- /health\n- FETCH /x\n\n"
            "### Breaking\n\nnot sure\n\n### Target date\n\nnext week\n")
    cr = parse_issue_body(body)
    assert cr.change_type == "remove-field"
    assert [(t.qualified, t.new_name) for t in cr.tables] == [
        ("public.users", None), ("public.orders", None), ("sales.invoices", "bills")]
    assert [(e.method, e.normalized) for e in cr.endpoints] == [("GET", "/users/{}/orders"), ("POST", "/orders")]
    assert cr.breaking == "unsure"
    fields = [p.field for p in cr.problems]
    assert fields == ["tables", "endpoints", "endpoints", "target_date"]
    assert "add the HTTP method" in cr.problems[1].message
    assert "YYYY-MM-DD" in cr.problems[3].message


def test_unknown_change_type_and_breaking_answers_are_problems():
    cr = parse_issue_body("### Change type\n\nmigrate everything\n\n### Breaking change\n\nperhaps not\n")
    assert cr.change_type is None and cr.breaking == "unsure"
    assert [p.field for p in cr.problems] == ["change_type"]
    assert "add-field" in cr.problems[0].message


@pytest.mark.parametrize("raw, norm", [
    ("/users/:id", "/users/{}"), ("/users/{id}", "/users/{}"), ("/users/${id}/orders", "/users/{}/orders"),
    ("/users/", "/users"), ("/users?x=1", "/users"), ("/", "/"), ("/a/:b?/c", "/a/{}/c"), ("/files/v-:ver", "/files/v-{}"),
])
def test_normalize_path(raw, norm):
    assert normalize_path(raw) == norm


def test_body_that_is_not_a_form_gives_an_empty_request():
    for body in (None, "", "just some text", "# Title\n\nLorem ipsum", "\x00\x01"):
        cr = parse_issue_body(body)
        assert isinstance(cr, ChangeRequest) and cr.change_type is None


LABELS = [f.label for f in FIELDS] + ["Notes", "summary", "**Tables**"]
_line = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["phone text", "id uuid primary key", "a -> b", "GET /x/:id", "_No response_", "- [X] x",
                     "```", "<!--", "-->", "**Summary**", "yes", "add-field", "2024-01-01", "x int); drop", "|a|b|",
                     "\r\n", "   ", "> quote", "1. item", "`code`", "---", "===", "${x}", "\\", '"Q" text']),
)


@st.composite
def bodies(draw):
    parts = []
    for _ in range(draw(st.integers(0, 8))):
        level = draw(st.sampled_from(["### ", "## ", "#### ", "**", ""]))
        label = draw(st.sampled_from(LABELS) | st.text(max_size=15))
        head = f"{level}{label}**" if level == "**" else f"{level}{label}"
        lines = draw(st.lists(_line, max_size=5))
        parts.append(head + "\n\n" + "\n".join(lines))
    sep = draw(st.sampled_from(["\n\n", "\r\n\r\n", "\n"]))
    return sep.join(parts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies())
def test_fuzz_parse_issue_body_never_raises(body):
    cr = parse_issue_body(body)
    assert isinstance(cr, ChangeRequest)
    assert all(p.field and p.message for p in cr.problems)
    # the result survives JSON (what the App stores and the CLI prints)
    assert ChangeRequest.model_validate_json(cr.model_dump_json(by_alias=True)) == cr


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_parse_arbitrary_text(body):
    assert isinstance(parse_issue_body(body), ChangeRequest)


def test_no_regex_on_document_structure():
    """Headings are found by the Markdown parser: a `###` inside a fenced block is not a heading."""
    body = "### Column(s) with type\n\n```\n### Summary\nphone text\n```\n"
    cr = parse_issue_body(body)
    assert cr.summary is None
    assert re.sub(r"\s", "", str([(c.name, c.type) for c in cr.columns])) == "[('phone','text')]"
    assert [p.field for p in cr.problems] == ["columns"]  # "### Summary" as a column line is reported
