import numpy as np
import pytest
import torch

from exosieve.config import load
from exosieve.evaluation import classification_metrics, recall_at_precision
from exosieve.features import ScalarScaler
from exosieve.model_inputs import model_branches
from exosieve.models import build_cnn
from exosieve.views import array_shape, shard_arrays

DEFAULT = load({})


def _arrays(cfg):
    return {n: array_shape(n, cfg["views"]) for n in shard_arrays(cfg)}


def _batch(arrays, n=7):
    return {k: torch.randn(n, *shape) for k, shape in arrays.items()}


# Each preset's views, TESS's extra ones among them: every CNN scores them and learns from them
# (the workflow's TESS run trains exominer, the one that reads them all).
@pytest.mark.parametrize("preset", [None, "tess", "astronet", "dartvetter_dr24"])
@pytest.mark.parametrize("model", ["exominer", "astronet", "raw_flux"])
def test_every_cnn_scores_a_batch_of_each_presets_views_and_learns_from_it(model, preset):
    cfg = load({"views": {"preset": preset}}) if preset else DEFAULT
    arrays = _arrays(cfg)
    net = build_cnn(model, arrays, 5, cfg["models"][model])
    scores = net(_batch(arrays), torch.randn(7, 5))
    assert scores.shape == (7,)
    scores.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters() if p.requires_grad)


def test_exominer_has_every_diagnostic_branch_and_astronet_only_two():
    arrays = list(_arrays(DEFAULT))
    names = [b.name for b in model_branches("exominer", arrays)]
    assert names == ["global", "local", "odd_even", "secondary", "centroid", "double_period", "unfolded"]
    assert [b.name for b in model_branches("astronet", arrays)] == ["global", "local"]
    glob = model_branches("exominer", arrays)[0]
    # scatter and coverage (which bins hold data) ride beside their flux view, as its channels
    assert glob.towers == (("global", "global_scatter", "global_coverage"),)


def test_odd_even_branch_shares_weights_and_sees_only_the_difference():
    cfg = load({"views": {"enabled": ["global", "local", "odd_even"]}, "models": {"enabled": ["exominer"]}})
    arrays = _arrays(cfg)
    net = build_cnn("exominer", arrays, 0, cfg["models"]["exominer"]).eval()
    assert "odd_even_0" in net.towers and "odd_even_1" not in net.towers
    batch = _batch(arrays, 4)
    same = dict(batch, even_local=batch["odd_local"])
    other = torch.randn(4, 31)
    swapped = dict(same, odd_local=other, even_local=other)
    with torch.no_grad():
        # Equal odd and even views give the same score whatever they are.
        assert torch.allclose(net(same, torch.zeros(4, 0)), net(swapped, torch.zeros(4, 0)), atol=1e-6)
        # Swapping odd and even never changes the score (|difference| is symmetric).
        flipped = dict(batch, odd_local=batch["even_local"], even_local=batch["odd_local"])
        assert torch.allclose(net(batch, torch.zeros(4, 0)), net(flipped, torch.zeros(4, 0)), atol=1e-6)


@pytest.mark.parametrize("g,l", [(301, 31), (2001, 201)])
def test_any_view_length(g, l):
    cfg = load({"views": {"global_bins": g, "local_bins": l}})
    arrays = _arrays(cfg)
    net = build_cnn("exominer", arrays, 3, cfg["models"]["exominer"])
    assert net(_batch(arrays, 2), torch.randn(2, 3)).shape == (2,)


def test_metrics_on_known_cases():
    y = np.array([0, 0, 1, 1, 0, 1])
    perfect = classification_metrics(y, np.array([0.1, 0.2, 0.9, 0.8, 0.3, 0.7]))
    assert perfect["roc_auc"] == 1 and perfect["pr_auc"] == 1 and perfect["accuracy"] == 1
    assert perfect["recall_at_precision_0.99"] == 1
    inverted = classification_metrics(y, np.array([0.9, 0.8, 0.1, 0.2, 0.7, 0.3]))
    assert inverted["roc_auc"] == 0 and inverted["recall"] == 0
    assert perfect["false_positive_rate"] == 0 and inverted["false_positive_rate"] == 1
    assert classification_metrics(y, np.array([0.6, 0.2, 0.9, 0.4, 0.3, 0.7]))["false_positive_rate"] == 1 / 3
    # Highest-scored TCE is a false positive: precision 0.99 is never reached.
    assert recall_at_precision(y, np.array([0.1, 0.95, 0.9, 0.8, 0.3, 0.7]), 0.99) == 0


def test_scaler_uses_training_statistics_and_imputes():
    train = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, np.nan], [4.0, 40.0]])
    s = ScalarScaler(["teff", "depth"]).fit(train)
    z = s.transform(np.array([[np.nan, 20.0]]))
    assert z[0, 0] == 0  # missing -> training median
    again = ScalarScaler.from_dict(s.to_dict()).transform(train)
    np.testing.assert_allclose(again, s.transform(train))


def test_config_refuses_models_without_their_views():
    from exosieve.config import ConfigError
    with pytest.raises(ConfigError, match="astronet"):
        load({"views": {"enabled": ["local"]}, "models": {"enabled": ["astronet"], "primary": "astronet"}})
    with pytest.raises(ConfigError, match="models.primary"):
        load({"models": {"enabled": ["trees"]}})


def _documented_nondeterministic_cuda_ops() -> set[str]:
    """The operations torch's own documentation (this installed version's
    ``use_deterministic_algorithms``) says raise under deterministic algorithms, on CUDA."""
    import re
    doc = torch.use_deterministic_algorithms.__doc__
    section = doc.split("normally-nondeterministic operations will throw a")[1].split("In addition")[0]
    return {_op_key(name.rsplit(".", 1)[-1]) for name in re.findall(r":(?:class|func):`([\w.]+)`", section)}


def _op_key(name: str) -> str:
    """'AdaptiveMaxPool2d', 'AdaptiveMaxPool2DBackward0' -> 'adaptivemaxpool2d'."""
    import re
    return re.sub(r"backward\d*$", "", re.sub(r"[^a-z0-9]", "", name.lower()))


def _backward_ops(output: torch.Tensor) -> set[str]:
    seen, stack, ops = set(), [output.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        ops.add(_op_key(type(node).__name__))
        stack += [n for n, _ in node.next_functions]
    return ops


@pytest.mark.parametrize("model", ["exominer", "astronet", "raw_flux"])
def test_no_model_runs_an_op_whose_cuda_backward_torch_documents_as_nondeterministic(model):
    """Training runs with deterministic algorithms on; on a GPU any of these ops raises on the
    first backward step. Checked on every op of the model's backward graph, not only on its
    layer classes, so a functional call is caught too."""
    forbidden = _documented_nondeterministic_cuda_ops()
    assert {"adaptivemaxpool2d", "avgpool3d", "nllloss", "reflectionpad1d"} <= forbidden   # the doc was parsed
    arrays = _arrays(DEFAULT)
    net = build_cnn(model, arrays, 5, DEFAULT["models"][model])
    ops = _backward_ops(net(_batch(arrays), torch.randn(7, 5)).sum())
    assert "convolution" in ops                                                   # the graph was walked
    assert not ops & forbidden, ops & forbidden
    assert not {_op_key(type(m).__name__) for m in net.modules()} & forbidden
    # The check can fail: the adaptive pool the towers used to end with is caught.
    pooled = torch.nn.AdaptiveMaxPool1d(4)(torch.randn(2, 3, 31, requires_grad=True))
    assert _backward_ops(pooled.sum()) & forbidden == {"adaptivemaxpool2d"}


def test_scoring_one_tce_with_an_occluded_view_raises_no_warning():
    """Occlusion replaces a view by a read-only broadcast of its median; for one TCE that array is
    contiguous, and torch warned 'The given NumPy array is not writable' on every exosieve score."""
    import warnings
    from types import SimpleNamespace

    from exosieve.model_files import FoldModel
    arrays = _arrays(DEFAULT)
    net = build_cnn("exominer", arrays, 5, DEFAULT["models"]["exominer"]).eval()
    views = {k: np.broadcast_to(np.zeros(shape, np.float32), (1, *shape)) for k, shape in arrays.items()}
    assert not views["global"].flags.writeable and views["global"].flags.c_contiguous
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = FoldModel._cnn_scores(SimpleNamespace(net=net), views, np.zeros((1, 5), np.float32))
    assert scores.shape == (1,) and np.isfinite(scores).all()
