"""Safe YAML loading with line numbers: duplicate keys, syntax errors, unsafe
tags, unreadable files, and property tests (round trip, duplicates at any
depth)."""

from __future__ import annotations

import os
import string

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foedus.data.yamlio import dotted, line_for, load, loads
from foedus.domain.errors import InputError

# ---------------------------------------------------------------------------
# examples
# ---------------------------------------------------------------------------

DOC = """\
# a comment
id: demo
commitments:
- guarantor: GBR
  troops: 5000
- guarantor: FRA
  sources:
  - title: x
"""


def test_loads_returns_data_and_line_of_every_path():
    data, lines = loads(DOC)
    assert data == {
        "id": "demo",
        "commitments": [{"guarantor": "GBR", "troops": 5000}, {"guarantor": "FRA", "sources": [{"title": "x"}]}],
    }
    assert lines[("id",)] == 2
    assert lines[("commitments",)] == 3
    assert lines[("commitments", 0)] == 4
    assert lines[("commitments", 0, "troops")] == 5
    assert lines[("commitments", 1, "guarantor")] == 6
    assert lines[("commitments", 1, "sources", 0, "title")] == 8


def test_line_for_falls_back_to_deepest_known_prefix():
    _, lines = loads(DOC)
    assert line_for(lines, ("commitments", 0, "troops")) == 5
    assert line_for(lines, ("commitments", 0, "no_such_key")) == 4
    assert line_for(lines, ("commitments", 1, "sources", 0, "title", "deeper")) == 8
    assert line_for(lines, ("nothing",)) == lines[()]


def test_dotted_renders_keys_and_indices():
    assert dotted(("commitments", 2, "troops")) == "commitments[2].troops"
    assert dotted(("a", 0, 1, "b")) == "a[0][1].b"
    assert dotted(()) == ""


def test_duplicate_key_names_both_lines():
    text = "id: a\ntitle: t\nid: b\n"
    with pytest.raises(InputError) as ei:
        loads(text, "pkg.yaml")
    (prob,) = ei.value.problems
    assert (prob.field, prob.line) == ("id", 3)
    assert "duplicate key 'id' (first given on line 1)" in prob.expected
    assert str(ei.value) == "pkg.yaml:3: id: duplicate key 'id' (first given on line 1)"


def test_all_duplicate_keys_are_reported_together():
    text = "a: 1\nb:\n  c: 1\n  c: 2\na: 3\n"
    with pytest.raises(InputError) as ei:
        loads(text)
    got = sorted((p.field, p.line) for p in ei.value.problems)
    assert got == [("a", 5), ("b.c", 4)]


def test_duplicate_keys_differing_only_in_quoting_are_duplicates():
    with pytest.raises(InputError) as ei:
        loads("'x': 1\nx: 2\n")
    assert ei.value.problems[0].line == 2


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ("a: [1, 2\nb: 3\n", 2, "expected ',' or ']'"),
        ("a: b: c\n", 1, "mapping values are not allowed here"),
        ('a: "unterminated\n', 2, "found unexpected end of stream"),
        ("a:\n  - 1\n - 2\n", 3, "while parsing a block mapping that starts on line 1"),
        ("a: *undefined\n", 1, "found undefined alias"),
        ("\tb: 1\n", 1, "found character '\\t' that cannot start any token"),
    ],
)
def test_syntax_errors_name_the_line(text, line, fragment):
    with pytest.raises(InputError) as ei:
        loads(text, "f.yaml")
    (prob,) = ei.value.problems
    assert prob.field == "(syntax)"
    assert prob.line == line
    assert prob.expected.startswith("not valid YAML: ")
    assert fragment in prob.expected


@pytest.mark.parametrize("text", ["", "# only a comment\n", "\n\n", "---\n"])
def test_empty_documents_load_as_none(text):
    data, _ = loads(text)
    assert data is None


def test_more_than_one_document_is_an_error():
    with pytest.raises(InputError) as ei:
        loads("a: 1\n---\nb: 2\n")
    assert "expected a single document" in str(ei.value)


# ---------------------------------------------------------------------------
# safety: tags that would build Python objects are refused, never executed
# ---------------------------------------------------------------------------

UNSAFE = [
    ('title: !!python/object/apply:os.system ["echo pwned"]\n', "title", 1, "!!python/object/apply:os.system"),
    ("!!python/object/apply:os.system\nargs: [echo pwned]\n", "(document)", 1, "!!python/object/apply:os.system"),
    ("a:\n  b: !!python/name:os.system\n", "a.b", 2, "!!python/name:os.system"),
    ("- !!python/object/new:subprocess.Popen [[echo, pwned]]\n", "[0]", 1, "!!python/object/new:subprocess.Popen"),
    ("? !!python/object/apply:os.system [echo pwned]\n: 1\n", "(document)", 1, "!!python/object/apply:os.system"),
    ("a: !custom 1\n", "a", 1, "'!custom'"),
]


@pytest.mark.parametrize("text, field, line, tag", UNSAFE)
def test_unsafe_tags_are_refused_without_running_anything(text, field, line, tag, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "system", lambda *a, **k: calls.append(a) or 0)
    import subprocess

    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: calls.append(a))
    with pytest.raises(InputError) as ei:
        loads(text, "evil.yaml")
    assert calls == []
    (prob,) = ei.value.problems
    assert (prob.field, prob.line) == (field, line)
    assert tag in prob.expected
    assert "never builds objects" in prob.expected


def test_shipped_fixture_with_os_system_is_refused(monkeypatch):
    from conftest import FIXTURES

    calls = []
    monkeypatch.setattr(os, "system", lambda *a, **k: calls.append(a) or 0)
    with pytest.raises(InputError) as ei:
        load(FIXTURES / "broken" / "python_object.yaml")
    assert calls == []
    assert ei.value.problems[0].line == 4
    assert "!!python/object/apply:os.system" in ei.value.problems[0].expected


def test_standard_safe_tags_still_work():
    data, _ = loads("a: !!str 5\nb: !!int '7'\nc: !!float 1\nd: !!set {x, y}\n")
    assert data == {"a": "5", "b": 7, "c": 1.0, "d": {"x", "y"}}


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------


def test_load_missing_file(tmp_path):
    with pytest.raises(InputError) as ei:
        load(tmp_path / "nope.yaml")
    assert str(ei.value) == f"{tmp_path / 'nope.yaml'}: (file): file not found"


def test_load_directory(tmp_path):
    with pytest.raises(InputError) as ei:
        load(tmp_path)
    assert "is a directory" in str(ei.value)


def test_load_non_utf8(tmp_path):
    p = tmp_path / "latin1.yaml"
    p.write_bytes("title: Zürich\n".encode("latin-1"))
    with pytest.raises(InputError) as ei:
        load(p)
    assert "not UTF-8 text" in str(ei.value)


def test_load_reads_file_and_names_it_in_errors(tmp_path):
    p = tmp_path / "dup.yaml"
    p.write_text("a: 1\na: 2\n", encoding="utf-8")
    with pytest.raises(InputError) as ei:
        load(p)
    assert str(ei.value).startswith(f"{p}:2: a: duplicate key")


# ---------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------

# PyYAML's emitter writes NEL and the Unicode line/paragraph separators
# unquoted and its reader then folds them (a PyYAML limitation, not ours), so
# they are left out of generated text; everything else printable is in.
chars = st.characters(
    codec="utf-8",
    exclude_categories=("Cs", "Cc"),
    include_characters="\n\t",
    exclude_characters="\x85\u2028\u2029\ufeff",
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=True)
    | st.text(chars, max_size=20)
)
keys = st.text(chars, max_size=10) | st.integers(min_value=-1000, max_value=1000)
trees = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=20,
)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=trees, flow=st.sampled_from([False, True, None]))
def test_round_trip_of_safe_dump(data, flow):
    """loads() reads back any safe_dump of nested dicts/lists of scalars as the
    same data, agrees with yaml.safe_load, and knows a line for every path."""
    text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True, sort_keys=False)
    got, lines = loads(text)
    assert got == data
    assert got == yaml.safe_load(text)
    n_lines = max(1, text.count("\n"))
    for path in _paths(data):
        assert path in lines
        assert 1 <= lines[path] <= n_lines + 1


# Duplicate keys at any depth: YAML text is generated here, with the line of
# every key known, so the oracle does not depend on the loader under test.
key_names = st.from_regex(r"k_[a-z0-9]{1,3}", fullmatch=True)


def _mappings(depth):
    leaf = st.integers(min_value=0, max_value=99)
    if depth == 0:
        return st.dictionaries(key_names, leaf, min_size=1, max_size=3)
    child = leaf | _mappings(depth - 1) | st.lists(_mappings(depth - 1), min_size=1, max_size=2)
    return st.dictionaries(key_names, child, min_size=1, max_size=3)


def _render(tree, target, dup_key):
    """Render ``tree`` in block style; append ``dup_key: 0`` at the end of the
    mapping at path ``target``. Returns (text, key_lines, dup_line)."""
    out: list[str] = []
    key_lines: dict[tuple, int] = {}
    dup_line: list[int] = []

    def mapping(m, indent, path, first_prefix=None):
        for i, (k, v) in enumerate(m.items()):
            pad = first_prefix if (i == 0 and first_prefix is not None) else " " * indent
            key_lines[path + (k,)] = len(out) + 1
            if isinstance(v, dict):
                out.append(f"{pad}{k}:")
                mapping(v, indent + 2, path + (k,))
            elif isinstance(v, list):
                out.append(f"{pad}{k}:")
                for j, item in enumerate(v):
                    mapping(item, indent + 2, path + (k, j), first_prefix=" " * indent + "- ")
            else:
                out.append(f"{pad}{k}: {v}")
        if path == target:
            dup_line.append(len(out) + 1)
            out.append(f"{' ' * indent}{dup_key}: 0")

    mapping(tree, 0, ())
    return "\n".join(out) + "\n", key_lines, dup_line[0]


def _mapping_paths(obj, prefix=()):
    if isinstance(obj, dict):
        yield prefix, obj
        for k, v in obj.items():
            yield from _mapping_paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _mapping_paths(v, prefix + (i,))


@settings(max_examples=60, deadline=None)
@given(tree=_mappings(3), data=st.data())
def test_duplicate_keys_at_any_depth_are_reported_with_the_right_line(tree, data):
    targets = list(_mapping_paths(tree))
    path, mapping = data.draw(st.sampled_from(targets), label="mapping")
    key = data.draw(st.sampled_from(sorted(mapping)), label="key")
    text, key_lines, dup_line = _render(tree, path, key)
    # the text without the duplicate is the tree itself (sanity of the oracle)
    clean = "\n".join(l for i, l in enumerate(text.splitlines(), 1) if i != dup_line) + "\n"
    assert loads(clean)[0] == tree
    with pytest.raises(InputError) as ei:
        loads(text, "gen.yaml")
    (prob,) = ei.value.problems
    assert prob.field == dotted(path + (key,))
    assert prob.line == dup_line
    assert prob.expected == f"duplicate key '{key}' (first given on line {key_lines[path + (key,)]})"


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=string.printable, max_size=60))
def test_loads_never_raises_anything_but_input_error(text):
    try:
        loads(text, "fuzz.yaml")
    except InputError as exc:
        assert exc.problems and all(p.expected for p in exc.problems)


# ---------------------------------------------------------------------------
# libyaml's composer and the pure-Python one agree
# ---------------------------------------------------------------------------


def _both(text: str):
    """``loads`` through libyaml (when PyYAML has it) and through the
    pure-Python composer: the data, the lines, or the error."""
    from foedus.data import yamlio

    def one():
        try:
            return loads(text)
        except InputError as exc:
            return ("error", str(exc))

    fast = one()
    saved, yamlio._CLoader = yamlio._CLoader, None
    try:
        slow = one()
    finally:
        yamlio._CLoader = saved
    return fast, slow


def test_libyaml_and_python_agree_on_every_shipped_file_and_fixture() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    files = [*root.glob("scenarios/*.yaml"), *root.glob("src/foedus/data/**/*.yaml"), *root.glob("tests/fixtures/**/*.yaml")]
    assert len(files) > 40
    for f in files:
        fast, slow = _both(f.read_text(encoding="utf-8", errors="replace"))
        assert fast == slow, f


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(depth=st.integers(1, 80), leaf=st.sampled_from(["1", "a", "{}", "[]", "x: 1"]), flow=st.booleans())
def test_libyaml_and_python_agree_at_any_depth(depth: int, leaf: str, flow: bool) -> None:
    """Nesting around the limit: the same data or the same error (deep
    documents go to the pure-Python loader, which names the line)."""
    text = "[" * depth + leaf + "]" * depth if flow else "".join(f"{'  ' * i}k{i}:\n" for i in range(depth)) + "  " * depth + "v"
    fast, slow = _both(text)
    assert fast == slow
