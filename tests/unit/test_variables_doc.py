"""tools/variables_doc.py: the committed docs/variables.md is current, and the rendering is right."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "variables_doc.py"


def _load_tool():
    spec = importlib.util.spec_from_file_location("variables_doc", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


variables_doc = _load_tool()

SPEC = """\
---
argument_specs:
  main:
    short_description: Does C(x) things
    description:
      - First paragraph with I(emphasis) and O(x_mode=fast).
      - "Sets: C(x_result)."
    options: &opts
      x_name:
        type: str
        required: true
        description: Name, see M(nixl_efa.cluster.efa_node_info).
      x_filter:
        type: str
        default: "{{ a | b }}"
        description: A Jinja default with a pipe; C(a|b) in code and a|b in text.
      x_items:
        type: list
        elements: str
        default: [one, two]
        description:
          - First line with V(one).
          - Second line, B(bold).
      x_mode:
        type: str
        default: slow
        choices: [slow, fast]
        description: Speed.
      x_flag:
        type: bool
        default: false
        description: A flag <off>.
      x_secret:
        type: str
        no_log: true
        description: A token.
  absent:
    short_description: Remove it
    options:
      x_name:
        type: str
        required: true
        description: Name.
  check:
    options: *opts
"""


@pytest.fixture
def fake_root(tmp_path):
    meta = tmp_path / "roles" / "x" / "meta"
    meta.mkdir(parents=True)
    (meta / "argument_specs.yml").write_text(SPEC, encoding="utf-8")
    return tmp_path


def test_committed_variables_doc_is_current():
    committed = (ROOT / "docs" / "variables.md").read_text(encoding="utf-8")
    assert committed == variables_doc.render(ROOT), "docs/variables.md is stale: run make variables-doc"


def test_check_passes_on_the_repository(capsys):
    assert variables_doc.main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_table_rows(fake_root):
    text = variables_doc.render(fake_root)
    rows = textwrap.dedent(
        """\
        | option | type | required | default | choices | description |
        | --- | --- | --- | --- | --- | --- |
        | `x_name` | str | yes |  |  | Name, see `nixl_efa.cluster.efa_node_info`. |
        | `x_filter` | str | no | `{{ a \\| b }}` |  | A Jinja default with a pipe; `a\\|b` in code and a\\|b in text. |
        | `x_items` | list of str | no | `[one, two]` |  | First line with `one`. Second line, **bold**. |
        | `x_mode` | str | no | `slow` | `slow`, `fast` | Speed. |
        | `x_flag` | bool | no | `false` |  | A flag &lt;off>. |
        | `x_secret` | str | no |  |  | A token. Not logged (`no_log`). |
        """
    )
    assert rows in text


def test_entry_points_and_descriptions(fake_root):
    text = variables_doc.render(fake_root)
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [
        "# Role variables reference",
        "## x",
        "### x: main",
        "### x: absent",
        "### x: check",
    ]
    assert "Does `x` things" in text
    assert "- First paragraph with *emphasis* and `x_mode=fast`." in text
    assert "- Sets: `x_result`." in text
    assert "Run with `tasks_from: absent`." in text
    assert "| `x_name` | str | yes |  |  | Name. |" in text
    assert text.count("| `x_secret` |") == 2  # the aliased options are listed under check too
    assert "[main](#x-main), [absent](#x-absent), [check](#x-check)" in text
    assert "make variables-doc" in text.splitlines()[0]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("C(a) and C(b)", "`a` and `b`"),
        ("I(word)", "*word*"),
        ("V(x\\)y)", "`x)y`"),
        ("O(opt=1)", "`opt=1`"),
        ("U(https://example.com)", "<https://example.com>"),
        ("L(the docs,https://example.com)", "[the docs](https://example.com)"),
        ("C(a`b)", "``a`b``"),
        ("ARC(x)", "ARC(x)"),
        ("multi\n  line", "multi line"),
    ],
)
def test_markup(source, expected):
    assert variables_doc.markup(source) == expected


def test_check_reports_a_stale_file(fake_root, capsys):
    assert variables_doc.main(["--check", "--root", str(fake_root)]) == 1
    assert "docs/variables.md is stale: run make variables-doc" in capsys.readouterr().err
    assert variables_doc.main(["--root", str(fake_root)]) == 0
    assert variables_doc.main(["--check", "--root", str(fake_root)]) == 0
    generated = fake_root / "docs" / "variables.md"
    generated.write_text(generated.read_text(encoding="utf-8") + "hand edit\n", encoding="utf-8")
    assert variables_doc.main(["--check", "--root", str(fake_root)]) == 1
    err = capsys.readouterr().err
    assert "+hand edit" not in err and "-hand edit" in err
    assert err.rstrip().endswith("docs/variables.md is stale: run make variables-doc")
