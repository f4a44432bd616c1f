import numpy as np
import pandas as pd
import pytest

from exosieve.folds import FoldError, assign_folds, validation_mask


def _tces(n_stars=200, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_stars):
        for j in range(rng.integers(1, 4)):
            rows.append({"tce_id": f"{s}_{j + 1}", "star_id": str(s), "label": int(rng.choice([-1, 0, 0, 1]))})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("k", [5, 10])
def test_grouping_never_splits_a_star(k):
    f = assign_folds(_tces(), k, 3)
    labelled = f[f.label >= 0]
    assert labelled.groupby("star_id").fold.nunique().max() == 1
    assert set(labelled.fold) == set(range(k))
    assert (f[f.label < 0].fold == -1).all()


def test_folds_are_stratified_and_deterministic():
    t = _tces(400)
    a, b = assign_folds(t, 5, 3), assign_folds(t.sample(frac=1, random_state=1), 5, 3)
    pd.testing.assert_frame_equal(a, b)
    rates = a[a.label >= 0].groupby("fold").label.mean()
    assert rates.max() - rates.min() < 0.1
    assert not a.fold.equals(assign_folds(t, 5, 4).fold)


def test_too_few_stars_is_a_clear_error():
    t = pd.DataFrame({"tce_id": ["1_1", "2_1", "3_1"], "star_id": ["1", "2", "3"], "label": [1, 0, 0]})
    with pytest.raises(FoldError, match="only 1 stars have positive TCEs, fewer than cv.folds=2"):
        assign_folds(t, 2, 0)


def test_validation_split_is_grouped():
    t = _tces(300)
    t = t[t.label >= 0]
    m = validation_mask(t.label.to_numpy(), t.star_id.to_numpy(), 0.12, 0)
    assert 0.05 < m.mean() < 0.2
    assert not set(t.star_id[m]) & set(t.star_id[~m])


def test_a_handful_of_stars_trains_without_a_separate_validation_split():
    import pandas as pd
    from types import SimpleNamespace
    from exosieve.config import load
    from exosieve.folds import labels_and_folds
    from exosieve.training import fold_rows
    meta = pd.DataFrame({"tce_id": [f"{s}_1" for s in range(6)], "star_id": [str(s) for s in range(6)]})
    folds = meta.assign(label=[1, 0, 1, 0, 0, 1], fold=[0, 0, 1, 1, 0, 1])
    labels, fold_of = labels_and_folds(meta.tce_id, folds)
    train, val = fold_rows(SimpleNamespace(meta=meta), labels, fold_of, folds, 0, load({}))
    assert list(meta.tce_id[train]) == ["2_1", "3_1", "5_1"] and list(val) == list(train)


def test_too_few_tces_in_the_shards_is_an_error_that_says_where_the_rest_went(tmp_path):
    """When failures leave a fold nothing (or one class) to train on, the error counts the labelled
    TCEs that never reached a shard, by stage, from the manifests beside the shards."""
    import pandas as pd
    import pytest
    from types import SimpleNamespace
    from exosieve.config import load
    from exosieve.folds import labels_and_folds
    from exosieve.training import TrainingDataError, fold_rows
    folds = pd.DataFrame({"tce_id": [f"{s}_1" for s in range(6)], "star_id": [str(s) for s in range(6)],
                          "label": [1, 0, 1, 0, 0, 1], "fold": [0, 0, 1, 1, 0, 1]})
    kept = folds[folds.label == 0].reset_index(drop=True)         # every planet failed
    labels, fold_of = labels_and_folds(kept.tce_id, folds)
    shard = tmp_path / "shards" / "000.h5"
    shard.parent.mkdir()
    pd.DataFrame({"tce_id": ["0_1", "2_1", "5_1", ""], "star_id": ["0", "2", "5", "1"],
                  "stage": ["download", "preprocess", "preprocess", "file"],
                  "error": ["star 0: HTTP 404", "star 2: bad", "star 5: bad", "a skipped file"]}
                 ).to_csv(tmp_path / "shards" / "000.failures.csv", index=False)
    with pytest.raises(TrainingDataError) as err:
        fold_rows(SimpleNamespace(meta=kept), labels, fold_of, folds, 0, load({}), [shard])
    msg = str(err.value)
    assert msg.startswith("fold 0: nothing to train on: the shards hold only negative TCEs outside this fold. "
                          "3 of the catalog's 6 labelled TCEs could not be preprocessed (preprocess: 2, download: 1; "
                          "first: star 0: HTTP 404)")
    assert f"{tmp_path / 'shards'}/*.failures.csv" in msg
