"""The vllm role's stand-in model builder (roles/vllm/files/stand_in_model.py), without torch.

What runs without torch, transformers and tokenizers: whether a directory already holds this
recipe (its marker), the listing it prints, and main()'s two paths: nothing written when the
marker names RECIPE (the role's steady state: changed false), and, with build() replaced by a
stand-in that writes one file, a fresh directory made beside the old one and swapped in. The real
build (torch's random weights, the trained tokenizer) runs on the lab's nodes.
"""

import importlib.util
import io
import json
import pathlib
import sys

import pytest

FILE = pathlib.Path(__file__).resolve().parents[3] / "roles" / "vllm" / "files" / "stand_in_model.py"
SPEC = importlib.util.spec_from_file_location("vllm_stand_in_model", FILE)
stand_in = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(stand_in)


def write_marker(directory, recipe):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / stand_in.MARKER).write_text(json.dumps({"recipe": recipe, "seed": stand_in.SEED}) + "\n")


def run_main(monkeypatch, argv):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    rc = stand_in.main(argv)
    return rc, json.loads(out.getvalue())


def block_ml_imports(monkeypatch):
    """`import torch` (and transformers, tokenizers) raise ImportError from here on, installed or not."""
    for name in ("torch", "transformers", "tokenizers"):
        monkeypatch.setitem(sys.modules, name, None)


def test_the_module_loads_without_torch(monkeypatch):
    block_ml_imports(monkeypatch)
    spec = importlib.util.spec_from_file_location("stand_in_again", FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.RECIPE.startswith("nixl-efa-stand-in-llama/")
    with pytest.raises(ImportError):
        module.build("/nonexistent")


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        (None, False),  # no directory, or no marker in it
        ('{"recipe": "nixl-efa-stand-in-llama/0"}', False),  # an older recipe: rebuilt
        ("{broken", False),
        ('["a list"]', False),
        ("RECIPE", True),
    ],
)
def test_current_only_with_this_recipe(tmp_path, marker, expected):
    model = tmp_path / "model"
    if marker == "RECIPE":
        write_marker(model, stand_in.RECIPE)
    elif marker is not None:
        model.mkdir()
        (model / stand_in.MARKER).write_text(marker)
    assert stand_in.current(str(model)) is expected


def test_files_lists_names_and_sizes_sorted(tmp_path):
    (tmp_path / "tokenizer.json").write_text("x" * 10)
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 100)
    assert stand_in.files(str(tmp_path)) == {"config.json": 2, "model.safetensors": 100, "tokenizer.json": 10}
    assert list(stand_in.files(str(tmp_path))) == ["config.json", "model.safetensors", "tokenizer.json"]


def test_current_directory_is_left_alone(monkeypatch, tmp_path):
    """The steady state: the marker names RECIPE, so nothing is built (torch is never imported)."""
    model = tmp_path / "nixl-efa-stand-in-llama"
    write_marker(model, stand_in.RECIPE)
    (model / "config.json").write_text("{}")

    block_ml_imports(monkeypatch)  # building would import torch and fail
    rc, printed = run_main(monkeypatch, ["--out", str(model), "--owner", "vllm"])
    assert rc == 0
    assert printed["changed"] is False
    assert printed["path"] == str(model) and printed["recipe"] == stand_in.RECIPE
    assert set(printed["files"]) == {"config.json", stand_in.MARKER}


def fake_build(out):
    pathlib.Path(out).mkdir(parents=True)
    (pathlib.Path(out) / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')


def test_stale_directory_is_rebuilt_beside_and_swapped_in(monkeypatch, tmp_path):
    model = tmp_path / "nixl-efa-stand-in-llama"
    write_marker(model, "nixl-efa-stand-in-llama/0")
    (model / "old-weights.safetensors").write_text("old")
    built = []
    monkeypatch.setattr(stand_in, "build", lambda out: built.append(out) or fake_build(out))
    rc, printed = run_main(monkeypatch, ["--out", str(model)])
    assert rc == 0 and printed["changed"] is True
    assert built == [f"{model}.partial"]
    assert not pathlib.Path(f"{model}.partial").exists()
    assert set(printed["files"]) == {"config.json", stand_in.MARKER}
    assert not (model / "old-weights.safetensors").exists()
    marker = json.loads((model / stand_in.MARKER).read_text())
    assert marker == {"recipe": stand_in.RECIPE, "seed": stand_in.SEED, "architecture": stand_in.ARCHITECTURE}
    assert stand_in.current(str(model))
    # Built once: the second run changes nothing.
    monkeypatch.setattr(stand_in, "build", lambda out: pytest.fail("rebuilt a current directory"))
    rc, printed = run_main(monkeypatch, ["--out", str(model)])
    assert rc == 0 and printed["changed"] is False


def test_owner_gets_the_directory_and_its_files(monkeypatch, tmp_path):
    model = tmp_path / "model"
    chowned = []
    monkeypatch.setattr(stand_in, "build", fake_build)
    monkeypatch.setattr(stand_in.shutil, "chown", lambda path, user, group: chowned.append((path, user, group)))
    rc, printed = run_main(monkeypatch, ["--out", str(model), "--owner", "vllm"])
    assert rc == 0 and printed["changed"] is True
    work = f"{model}.partial"
    assert sorted(chowned) == sorted(
        [(work, "vllm", "vllm"), (f"{work}/config.json", "vllm", "vllm"), (f"{work}/{stand_in.MARKER}", "vllm", "vllm")]
    )
