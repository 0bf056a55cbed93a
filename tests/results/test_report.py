"""`fusion-search report`: one self-contained page that says whether fusion helped, with the evidence."""

from __future__ import annotations

import re

import optuna
import pytest

from fusion_search.cli import main
from fusion_search.results import compare, headline, paired_test, paired_test_in_words, report_html
from fusion_search.results._report import TITLES
from tests._browser import ARTIFACTS, render, screenshot


def made_study(trials: list[tuple[str, float, list[float]]]) -> optuna.Study:
    """An in-memory study of complete trials (fusion, mean AUC, per-fold AUCs), as the search records them."""
    study = optuna.create_study(direction="maximize")
    distribution = optuna.distributions.CategoricalDistribution(["image_only", "numeric_only", "concat", "late"])
    rate = optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)
    for number, (fusion, value, folds) in enumerate(trials):
        study.add_trial(optuna.trial.create_trial(
            params={"fusion": fusion, "lr_fusion": 10 ** (-1 - number % 3)},
            distributions={"fusion": distribution, "lr_fusion": rate}, value=value,
            user_attrs={"fusion": fusion, "fold_aucs": folds, "std_auc": 0.01, "oof_auc": value}))
    return study


BASELINES = [("image_only", 0.70, [0.69, 0.71, 0.70, 0.68, 0.72]),
             ("numeric_only", 0.64, [0.63, 0.65, 0.64, 0.62, 0.66])]


def test_wilcoxon_with_five_folds_cannot_go_below_0_0625_and_the_page_says_so():
    test = paired_test([0.75, 0.79, 0.77, 0.76, 0.78], [0.69, 0.71, 0.70, 0.68, 0.72])
    assert test.wilcoxon_p == pytest.approx(0.0625)
    assert test.wilcoxon_floor == pytest.approx(0.0625)
    assert test.t_test_p < 0.001
    words = paired_test_in_words(test)
    assert "cannot give less than 0.0625" in words and "never reach 0.05" in words
    assert "unlikely to be fold noise" in words


def test_a_study_too_small_for_importances_still_reports_and_says_why():
    page = report_html(made_study(BASELINES))
    assert "No fusion design was scored on every fold, so there is no design whose settings to rank" in page
    assert "No out-of-fold scores are stored" in page  # made without the search: nothing to draw ROC curves from


def test_report_of_an_unknown_study_is_a_one_line_error(searched_study, tmp_path, capsys):
    storage, _, _ = searched_study
    code = main(["report", "--study", "nope", "--storage", storage, "--output", str(tmp_path / "r.html")])
    assert code == 2
    assert "no study named 'nope'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def report(searched_study, tmp_path_factory):
    storage, name, _ = searched_study
    path = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", "--study", name, "--storage", storage, "--output", str(path)]) == 0
    return path, optuna.load_study(study_name=name, storage=storage)


def expected_titles(study: optuna.Study) -> list[str]:
    """Every section's plot title; the importances' names the family ranked, and is absent where it has too few
    trials (the section then says so in words)."""
    from fusion_search.results._report import importance_section

    importance, _ = importance_section(study, compare(study))
    titles = [title for key, title in TITLES.items() if key != "importance"]
    return titles + ([importance.layout.title.text] if importance is not None else [])


def test_report_is_one_self_contained_page(report):
    path, study = report
    page = path.read_text()
    assert not re.search(r"<script[^>]+src=", page)  # plotly.js is inline: the page works offline
    assert "plotly" in page.lower() and page.count("Plotly.newPlot") == len(expected_titles(study))


def test_report_opens_with_the_verdict_sentence(report):
    path, study = report
    first_paragraph = re.search(r'<p class="verdict">(.*?)</p>', path.read_text()).group(1)
    assert first_paragraph == headline(compare(study)).replace("'", "&#x27;")


def test_report_plots_render_in_chromium_without_errors(report):
    path, study = report
    page = render(path.as_uri(), budget_ms=5000)
    assert page.errors == []
    rendered_titles = re.findall(r'class="gtitle"[^>]*>([^<]+)<', page.dom)
    assert sorted(rendered_titles) == sorted(expected_titles(study))
    screenshot(path.as_uri(), ARTIFACTS / "report.png", size=(1000, 1400), budget_ms=5000)


def test_status_and_the_report_show_one_delta_baseline_for_the_same_trial():
    """concat finished when image_only's best was 0.70 (+0.070 then); a later image_only trial reached 0.73. Before,
    the report showed the +0.070 recorded then and `status` +0.040: two numbers under one name."""
    from fusion_search.results import leaderboard_rows

    study = made_study(BASELINES + [("concat", 0.77, [0.75, 0.79, 0.77, 0.76, 0.78]),
                                    ("image_only", 0.73, [0.72, 0.74, 0.73, 0.71, 0.75])])
    recorded = optuna.create_study(direction="maximize")  # the same trials, concat's with its Δ when it finished
    for trial in study.trials:
        extra = {"delta_vs_best_baseline": 0.07} if trial.number == 2 else {}
        recorded.add_trial(optuna.trial.create_trial(params=trial.params, distributions=trial.distributions,
                                                     value=trial.value, user_attrs={**trial.user_attrs, **extra}))
    study = recorded
    status = {row["design"]: row["delta_baseline"] for row in leaderboard_rows(study)}
    assert status["concat"] == pytest.approx(0.04)
    page = report_html(study)
    assert "<td>+0.040</td>" in page and "+0.070" not in page and "as `status` shows it" in page


def test_parameter_importance_ranks_the_settings_of_the_best_fusion_design_s_family_not_the_fusion_type():
    """Before: one bar, fusion = 1.0 (across designs the type takes all the variance). concat is the best fusion
    design here, and its four trials differ only in lr_fusion."""
    from fusion_search.results._report import importance_section

    concat = [("concat", value, [value] * 5) for value in (0.77, 0.74, 0.71, 0.75)]
    study = made_study(BASELINES + concat + [("late", 0.60, [0.6] * 5)])
    figure, note = importance_section(study, compare(study))
    assert list(figure.data[0].y) == ["lr_fusion"] and "fusion" not in figure.data[0].y
    assert figure.layout.title.text.endswith(": concat") and "over the 4 concat trials" in note
    few = made_study(BASELINES + concat[:2] + [("late", 0.60, [0.6] * 5)])
    figure, note = importance_section(few, compare(few))
    assert figure is None and "Only 2 concat trial(s)" in note
