"""`fusion-search spaces` lists the shipped spaces; `spaces show NAME|PATH` prints one resolved, with its count."""

from __future__ import annotations

import re

import pytest

from fusion_search.cli import main
from fusion_search.spaces import list_spaces, load_space


def test_spaces_lists_every_shipped_space_with_its_description(capsys):
    assert main(["spaces"]) == 0
    out = capsys.readouterr().out
    for name in ("default", "quick", "balanced", "seed"):
        assert re.search(rf"^{name}\s+{re.escape(load_space(name).description[:30])}", out, re.MULTILINE)
    assert len(out.strip().splitlines()) == len(list_spaces())


@pytest.mark.parametrize("name", ["default", "quick", "balanced", "seed"])
def test_spaces_show_prints_the_resolved_space_with_its_parameter_count(name, capsys):
    space = load_space(name)
    assert main(["spaces", "show", name]) == 0
    out = capsys.readouterr().out
    assert f"{len(space.params)} searched parameters, {len(space.fixed)} fixed" in out
    for param in space.params:
        assert re.search(rf"^  {param.name}: ", out, re.MULTILINE)
    for key, value in space.fixed.items():
        assert f"  {key} = {value!r}" in out
    assert space.first_tries and out.count("  fusion=") == len(space.first_tries)  # each family's first try


def test_spaces_show_validates_a_user_space_file_by_path(tmp_path, capsys):
    path = tmp_path / "mine.yaml"
    path.write_text("fixed: {backbone: small_cnn, weights: none}\n"
                    "search:\n  fusion: {choices: [bilinear]}\n  fusion_units: {low: 8, high: 32, log: true}\n"
                    "  bilinear_rank: {low: 1, high: 8}\n")
    assert main(["spaces", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"space mine ({path})" in out
    assert "  bilinear_rank: int in [1, 8]  (default 4)" in out
    assert f"{len(load_space(str(path)).params)} searched parameters, 2 fixed" in out


def test_spaces_show_refuses_a_malformed_user_file_in_one_line_with_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("search:\n  fusion: {choices: [bilinear]}\n  fusion_units: {low: 8, high: 32}\n")
    assert main(["spaces", "show", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == (f"fusion-search: error: {path}: search.fusion: fusion 'bilinear' needs "
                                    "bilinear_rank, which the space neither fixes nor searches")


def test_spaces_show_without_a_space_and_with_an_unknown_name_exit_2(capsys):
    assert main(["spaces", "show"]) == 2
    assert "spaces show needs a space name or a YAML path" in capsys.readouterr().err
    assert main(["spaces", "show", "nope"]) == 2
    assert "unknown space 'nope'" in capsys.readouterr().err
