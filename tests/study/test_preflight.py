"""Which space a run resumes with is read from the stored study, and only "no such study" means there is none: a
storage that cannot be opened, or one that fails while it is read, stops the run instead of quietly choosing
another space for an existing study."""

from __future__ import annotations

import optuna
import pytest

from fusion_search import UserError
from fusion_search.study import chosen_space


@pytest.fixture
def storage(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    optuna.create_study(study_name="made", storage=url).set_user_attr("space", "quick")
    return url


def test_a_study_that_does_not_exist_is_no_stored_space(storage, capsys):
    assert chosen_space("auto", "made", storage).name == "quick"
    assert chosen_space("auto", "never made", storage).name == "balanced"  # the tests train on a CPU
    assert "space auto: balanced (this machine trains on a CPU)" in capsys.readouterr().err


def test_a_storage_that_cannot_be_opened_stops_in_one_line(tmp_path):
    (tmp_path / "broken.db").write_bytes(b"this is not a database, though its name says so" * 20)
    with pytest.raises(UserError, match=r"^cannot open storage sqlite:///.*broken\.db: ") as refused:
        chosen_space("auto", "made", f"sqlite:///{tmp_path / 'broken.db'}")
    assert "\n" not in str(refused.value)


def test_a_storage_that_fails_while_the_study_is_read_is_not_taken_for_no_study(storage, monkeypatch):
    def failing(*args, **kwargs):
        raise RuntimeError("the table schema is from a newer Optuna")

    monkeypatch.setattr(optuna, "load_study", failing)
    with pytest.raises(RuntimeError, match="newer Optuna"):
        chosen_space("auto", "made", storage)
