"""The report's page comes from report/index.html.j2 (Jinja2, autoescape on): values are escaped,
the HTML tables are inserted as they are, a section appears only when its data is given, and a
missing template says to pass build_report's ``template``."""

from __future__ import annotations

import pandas as pd
import pytest

from exosieve import report
from exosieve.report import _table_html, build_report, report_template, write_index
from helpers import REPO


def context(**changes) -> dict:
    """The smallest context the template takes: no optional section."""
    table = _table_html(pd.DataFrame({"model": ["m"], "pr_auc": [0.5]}))
    base = {
        "source": "simulated", "primary": "exominer", "n_catalog": 10, "n_scored": 9, "models_from": None,
        "cv_folds": 5, "rep": {"threshold": 0.5, "threshold_precision": None, "precision_target": 0.99},
        "threshold": 0.5, "headline": {"pr_auc": 0.9, "roc_auc": 0.95, "precision": 0.8, "recall": 0.7},
        "calibration": {"ece": 0.02, "planet_fraction": 0.25}, "prior": None,
        "tables": {"comparison": table, "calibration": table, "by_label": table, "by_class": None,
                   "per_fold": table, "test": None, "explanations": None, "top": table},
        "training_curves": False, "tuning": [], "sheets": [],
        "failures": {"n_failed": 0, "n_files": 0, "table": None, "repeats": 0, "mirrors": 0, "flagged": 0,
                     "unlike": 0, "damaged": 0, "damaged_bands": []},
    }
    for key, value in changes.items():
        base[key] = {**base[key], **value} if isinstance(base[key], dict) and value is not None else value
    return base


def render(tmp_path, **changes) -> str:
    write_index(tmp_path, context(**changes), report_template())
    return (tmp_path / "index.html").read_text()


def test_the_template_is_the_checkouts_and_the_page_ends_as_html(tmp_path):
    assert report_template() == REPO / "report" / "index.html.j2"
    page = render(tmp_path)
    assert page.startswith("<!doctype html>\n") and page.endswith("</body></html>\n")
    assert "a calibrated probability of at least 0.5 (report.threshold)" in page
    assert "No TCE failed, no file was skipped." in page


def test_values_are_escaped_and_tables_are_not(tmp_path):
    page = render(tmp_path, source="<b>mine</b>", primary="cnn<i>", models_from="bundle&<b>.zip",
                  sheets=[("top: <script>", "top_0.png")],
                  tables={"comparison": _table_html(pd.DataFrame({"model": ["<b>x</b>"], "pr_auc": [0.5]}))})
    assert "<b>mine</b>" not in page and "Source: <b>&lt;b&gt;mine&lt;/b&gt;</b>" in page
    assert "cnn<i>" not in page and "<h2>cnn&lt;i&gt; per fold</h2>" in page
    assert "<b>bundle&amp;&lt;b&gt;.zip</b> (models.from)" in page
    assert '<a href="sheets/top_0.png">top: &lt;script&gt;</a>' in page and "<script>" not in page
    # The tables' HTML goes in as it is; their cells pandas escaped.
    assert '<table class="dataframe tbl">' in page and "<td>&lt;b&gt;x&lt;/b&gt;</td>" in page


def test_a_section_appears_only_with_its_data(tmp_path):
    plain = render(tmp_path)
    for text in ("By true class", "External test set", "Hyperparameter tuning", "Explanations",
                 "Diagnostic sheets", "multiplicity prior", "trained elsewhere", "training_curves.png",
                 "could not be scored", "repeat an earlier record", "scored with a flag", "lost their transit"):
        assert text not in plain, text
    table = _table_html(pd.DataFrame({"n": [3]}))
    full = render(tmp_path, models_from="bundle.exosieve", training_curves=True, sheets=[("top: a", "a.png")],
                  prior={"multi": [2.0, 3.0], "single": [0.5, 0.25], "unlabelled_multi": 2.5,
                         "unlabelled_single": 0.4},
                  tables={"by_class": table, "test": table, "explanations": table},
                  tuning=[{"model": "astronet", "table": table, "importances": None, "figure": "tuning_astronet.png"}],
                  failures={"n_failed": 2, "n_files": 1, "table": table, "repeats": 3, "mirrors": 1, "flagged": 4,
                            "unlike": 1, "damaged": 2, "damaged_bands": [("<300", 1), ("unknown", 1)]})
    for text in ("<h3>By true class (simulated survey only)</h3>", "<h2>External test set</h2>",
                 '<h2>Hyperparameter tuning</h2>', '<img src="tuning_astronet.png" alt="tuning">',
                 "<h2>Explanations</h2>", "<h3>Diagnostic sheets</h3>", 'src="training_curves.png"',
                 "likelihood ratio 2.00, 3.00 (fold by fold", "by 0.50, 0.25 (0.40).", "trained elsewhere",
                 "2 TCE(s) could not be scored. 1 light-curve file(s) were skipped",
                 "(1 as its mirror image, 2 exactly)", "4 TCE(s) were scored with a flag", "for 1 of them",
                 "By depth [ppm]: &lt;300 1, unknown 1."):
        assert text in full, text
    assert "No TCE failed" not in full and "Parameter importances" not in full


def test_a_missing_template_says_to_pass_one(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="report template .*missing.html.j2 not found"):
        build_report("tces.csv", "folds.csv", {}, {}, [], tmp_path, {}, template=tmp_path / "missing.html.j2")
    # An installed package has no checkout around it.
    monkeypatch.setattr(report, "__file__", str(tmp_path / "site-packages" / "exosieve" / "report.py"))
    with pytest.raises(FileNotFoundError, match=r"pass build_report\(\.\.\., template="):
        report_template()
    assert not (tmp_path / "index.html").exists()


def test_the_pages_tables_head_their_columns_in_words():
    html = _table_html(pd.DataFrame({"model": ["m"], "pr_auc": [0.5], "false_positive_rate": [0.1],
                                     "recall_at_precision_0.99": [0.2], "n_above": [3]}))
    for heading in ("PR-AUC", "non-planets called planets", "recall at precision 0.99", "TCEs above threshold"):
        assert f"<th>{heading}</th>" in html
    assert "pr_auc" not in html and "_" not in html.split("<tbody>")[0]
