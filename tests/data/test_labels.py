"""Labels with more than two classes: K classes (indices in sorted class order), one class against the rest
(--positive), classes merged into one (--merge-classes), and a class too rare for the folds named."""

from __future__ import annotations

import numpy as np
import pytest

from fusion_search._errors import UserError
from fusion_search.data import ManifestSpec, merge_groups, read_manifest
from tests.conftest import write_manifest

CLASSES = ["bcc", "melanoma", "nevus", "nevus", "melanoma", "nevus"] * 4  # bcc 4, melanoma 8, nevus 12


def _manifest(tmp_path, labels=CLASSES):
    rows = [{"image": f"i/{i}.png", "label": label, "age": str(30 + i % 7)} for i, label in enumerate(labels)]
    images = [np.full((8, 8, 3), i * 9 % 255, dtype=np.uint8) for i in range(len(labels))]
    return write_manifest(tmp_path, rows, images)


def test_a_named_class_is_scored_against_every_other(tmp_path):
    manifest = read_manifest(_manifest(tmp_path), ManifestSpec(positive="melanoma"))
    assert manifest.labels.tolist() == [int(label == "melanoma") for label in CLASSES]


def test_more_than_two_classes_without_a_positive_are_k_classes_in_sorted_order(tmp_path):
    manifest = read_manifest(_manifest(tmp_path))
    order = {"bcc": 0, "melanoma": 1, "nevus": 2}
    assert manifest.labels.tolist() == [order[label] for label in CLASSES]
    assert manifest.n_classes == 3 and manifest.class_names == ("bcc", "melanoma", "nevus")
    assert manifest.classes == (("bcc", 4), ("melanoma", 8), ("nevus", 12)) and manifest.positive_class == ""


def test_two_classes_stay_a_positive_class_against_the_other(tmp_path):
    manifest = read_manifest(_manifest(tmp_path, [c for c in CLASSES if c != "bcc"]), ManifestSpec(positive="nevus"))
    assert manifest.n_classes == 2 and manifest.class_names == ("melanoma", "nevus")
    assert manifest.labels.dtype == np.int8 and set(manifest.labels.tolist()) == {0, 1}


def test_a_class_too_rare_for_the_folds_is_named_with_both_ways_out(tmp_path):
    from fusion_search.data import prepare_data

    with pytest.raises(UserError) as raised:
        prepare_data(_manifest(tmp_path), 5, 0)  # bcc has 4 rows
    message = str(raised.value)
    assert message == ("class 'bcc' has only 4 rows for 5 folds, and each fold needs one: use --folds 4 or fewer, "
                       "merge it into another class (--merge-classes bcc,OTHER), drop its rows, or add rows of it to "
                       "the manifest")
    merged = prepare_data(_manifest(tmp_path), 5, 0, spec=ManifestSpec(merge_classes=(("bcc", "melanoma"),),
                                                                      positive="nevus"))
    assert merged.manifest.n_classes == 2


def test_more_classes_than_a_study_takes_are_refused_in_one_line(tmp_path):
    with pytest.raises(UserError, match="has 101 classes .*at most 100 are taken"):
        read_manifest(_manifest(tmp_path, [f"c{i}" for i in range(101)] * 2))


def test_merged_classes_count_as_one_named_by_their_members(tmp_path):
    spec = ManifestSpec(positive="melanoma+bcc", merge_classes=(("melanoma", "bcc"),))
    manifest = read_manifest(_manifest(tmp_path), spec)
    assert manifest.labels.tolist() == [int(label != "nevus") for label in CLASSES]


def test_merging_down_to_two_classes_still_needs_to_know_which_is_positive(tmp_path):
    with pytest.raises(UserError, match="'melanoma\\+bcc' and 'nevus': say which is the positive class"):
        read_manifest(_manifest(tmp_path), ManifestSpec(merge_classes=(("melanoma", "bcc"),)))


@pytest.mark.parametrize("merges, message", [
    ((("melanoma", "scc"),), "'scc' is not a class of label column 'label' (classes: bcc, melanoma, nevus)"),
    ((("melanoma",),), "names 1 class(es)"),
    ((("melanoma", "bcc"), ("bcc", "nevus")), "names class 'bcc' in two groups"),
])
def test_a_merge_that_cannot_be_made_is_refused_in_one_line(tmp_path, merges, message):
    with pytest.raises(UserError) as raised:
        read_manifest(_manifest(tmp_path), ManifestSpec(positive="nevus", merge_classes=merge_groups(merges)))
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_merge_flags_read_as_comma_separated_names():
    assert merge_groups(["a, b", ("c", "d", "e")]) == (("a", "b"), ("c", "d", "e"))
    assert merge_groups(None) == ()


def test_the_fingerprint_tells_a_merged_label_from_the_class_alone(tmp_path):
    path = _manifest(tmp_path)
    alone = read_manifest(path, ManifestSpec(positive="melanoma"))
    merged = read_manifest(path, ManifestSpec(positive="melanoma+bcc", merge_classes=(("melanoma", "bcc"),)))
    assert alone.fingerprint != merged.fingerprint


def test_numeric_class_labels_merge_by_their_text(tmp_path):
    labels = [0, 1, 2, 2, 1, 0] * 4
    spec = ManifestSpec(positive="1+2", merge_classes=merge_groups([(1.0, 2)]))
    manifest = read_manifest(_manifest(tmp_path, labels), spec)
    assert manifest.labels.tolist() == [int(v > 0) for v in labels]
    assert manifest.classes == (("0", 8), ("1+2", 16)) and manifest.positive_class == "1+2"


def test_a_merged_name_that_is_already_a_class_is_refused(tmp_path):
    labels = ["a", "b", "a+b", "c"] * 6
    with pytest.raises(UserError, match="would be named 'a\\+b', which is already a class"):
        read_manifest(_manifest(tmp_path, labels), ManifestSpec(positive="c", merge_classes=(("a", "b"),)))


def test_two_groups_that_would_share_a_name_are_refused_and_one_string_is_one_group():
    with pytest.raises(UserError, match="two groups would both be named 'a\\+b\\+c'"):
        merge_groups(["a+b,c", "a,b+c"])
    assert merge_groups("a,b") == (("a", "b"),)


def test_the_run_says_which_class_is_scored_against_which(tmp_path, capsys):
    from fusion_search.data import prepare_data
    from fusion_search.study._preflight import say_classes

    say_classes(prepare_data(_manifest(tmp_path), 3, 0, spec=ManifestSpec(positive="nevus")))
    assert "label: nevus (12 rows) against the rest: bcc 4, melanoma 8" in capsys.readouterr().err
    say_classes(prepare_data(_manifest(tmp_path), 3, 0))
    assert "label: 3 classes, scored by macro one-vs-rest AUC: bcc 4, melanoma 8, nevus 12" in capsys.readouterr().err


def test_a_class_too_rare_to_split_a_training_fold_again_is_named_before_any_trial(tmp_path):
    """Three rows of bcc pass two folds (a row in each) but leave a training fold one bcc row, too few for its
    early-stopping slice: refused by name before any trial fails on it."""
    from fusion_search.data import prepare_data
    from fusion_search.spaces import load_space
    from fusion_search.study._objective import require_splittable

    labels = ["bcc"] * 3 + ["melanoma", "nevus"] * 12
    data = prepare_data(_manifest(tmp_path, labels), 2, 0)
    with pytest.raises(UserError) as raised:
        require_splittable(data, load_space("quick"))
    assert str(raised.value) == (
        "in a training fold, class 'bcc' has only 1 row, too few to split it again (the stacked design's 3 inner "
        "folds need 3): merge it into another class (--merge-classes bcc,OTHER), drop its rows, or add rows of it to "
        "the manifest")  # (no "fewer --folds" at --folds 2, the least)


def test_a_class_the_stacked_inner_folds_alone_cannot_split_is_offered_fewer_inner_folds(tmp_path):
    from fusion_search.data import prepare_data
    from fusion_search.spaces import load_space
    from fusion_search.study._objective import require_splittable

    data = prepare_data(_manifest(tmp_path, ["bcc"] * 4 + ["melanoma", "nevus"] * 12), 2, 0)
    with pytest.raises(UserError, match=r"class 'bcc' has only 2 rows, .* inner folds need 3\): fix "
                                        r"stacked_inner_folds at 2 \(or leave out the stacked design\) in a --space "
                                        r"file, merge it"):
        require_splittable(data, load_space("quick"))
