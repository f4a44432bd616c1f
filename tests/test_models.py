import numpy as np
import pytest
import torch

from exosieve.config import load
from exosieve.evaluation import classification_metrics, recall_at_precision
from exosieve.features import ScalarScaler
from exosieve.models import build_model


@pytest.mark.parametrize("g,l", [(301, 31), (2001, 201)])
def test_multibranch_forward_shapes(g, l):
    cfg = load({})
    net = build_model(["global", "local"], 5, cfg["model"])
    out = net({"global": torch.randn(7, g), "local": torch.randn(7, l)}, torch.randn(7, 5))
    assert out.shape == (7,)
    assert set(net.branches) == {"global", "local"}


def test_branches_follow_config():
    cfg = load({"views": {"enabled": ["local"]}})
    net = build_model(cfg["views"]["enabled"], 0, cfg["model"])
    assert list(net.branches) == ["local"] and net.scalar_branch is None
    assert net({"local": torch.randn(2, 31)}, torch.zeros(2, 0)).shape == (2,)


def test_metrics_on_known_cases():
    y = np.array([0, 0, 1, 1, 0, 1])
    perfect = classification_metrics(y, np.array([0.1, 0.2, 0.9, 0.8, 0.3, 0.7]))
    assert perfect["roc_auc"] == 1 and perfect["pr_auc"] == 1 and perfect["accuracy"] == 1
    assert perfect["recall_at_precision_0.99"] == 1
    inverted = classification_metrics(y, np.array([0.9, 0.8, 0.1, 0.2, 0.7, 0.3]))
    assert inverted["roc_auc"] == 0 and inverted["recall"] == 0
    # Highest-scored TCE is a false positive: precision 0.99 is never reached.
    assert recall_at_precision(y, np.array([0.1, 0.95, 0.9, 0.8, 0.3, 0.7]), 0.99) == 0


def test_scaler_uses_training_statistics_and_imputes():
    train = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, np.nan], [4.0, 40.0]])
    s = ScalarScaler(["teff", "depth"]).fit(train)
    z = s.transform(np.array([[np.nan, 20.0]]))
    assert z[0, 0] == 0  # missing -> training median
    again = ScalarScaler.from_dict(s.to_dict()).transform(train)
    np.testing.assert_allclose(again, s.transform(train))
