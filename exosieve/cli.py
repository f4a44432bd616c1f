"""The ``exosieve`` command: version, simulated surveys, shard and model inspection (``info``),
config checks, archive checks (``check-archives``), what a rerun will redo (``plan``), scoring
named targets with a finished run (``predict``), scoring one ephemeris of any star (``score``),
portable model bundles (``export-models``) and hyperparameter studies (``tune``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__


def _simulate(args) -> int:
    from .lightcurves.obtain import generate_simulated
    from .simulate import draw_survey, write_catalog_files
    survey = draw_survey(args.stars, args.quarters, args.seed)
    files = write_catalog_files(survey, args.out)
    ids = [str(k) for k in survey.stars.kepid]
    index, failures = generate_simulated(ids, files, Path(args.out) / "lightcurves",
                                         {"quarters": args.quarters, "seed": args.seed}, progress=True)
    print(f"wrote {len(survey.catalog)} TCEs on {len(ids)} stars ({len(index)} FITS files) to {args.out}")
    print(f"  catalog (DR24 format): {files['catalog']}\n  stellar table: {files['stellar']}\n"
          f"  ground truth: {files['truth']}\n  light curves (MAST layout): {Path(args.out) / 'lightcurves'}")
    # Snakemake's --config takes top-level keys; a nested one goes in as YAML.
    print("Use it as a local source: snakemake --cores 2 --config 'catalog={source: local, "
          f"path: {files['catalog']}, stellar_path: {files['stellar']}, "
          f"lightcurve_dir: {Path(args.out) / 'lightcurves'}}}'")
    return 1 if failures else 0


def _info(args) -> int:
    import h5py
    from .shards import ShardError, read_shard
    from .model_files import resolve_models
    path = resolve_models(args.shard)          # a shipped bundle's name reads as its file
    if path.is_dir() or (path.is_file() and not h5py.is_hdf5(path) and path.suffix != ".h5"):
        return _info_models(path)
    try:
        data = read_shard(args.shard)
    except ShardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"shard {args.shard}")
    print("provenance:")
    for key in sorted(data.attrs):
        print(f"  {key}: {data.attrs[key]}")
    print("schema:")
    with h5py.File(args.shard, "r") as h5:
        def show(name, obj):
            if isinstance(obj, h5py.Dataset):
                cols = obj.attrs.get("columns")
                extra = f"  columns={list(cols)}" if cols is not None else ""
                print(f"  {name:<16} {str(obj.dtype):<10} {obj.shape}{extra}")
        h5.visititems(show)
    print(f"counts: {len(data)} TCEs on {data.meta.star_id.nunique()} stars "
          "(labels are the catalog's: results/catalog/tces.csv)")
    return 0


def _info_models(path: Path) -> int:
    from .model_files import ModelMismatchError, describe, load_models
    try:
        print(describe(load_models(path)))
    except ModelMismatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _export_models(args) -> int:
    from .model_files import ModelMismatchError, describe, export_bundle, load_models
    cfg = _load_config(args.config)
    if cfg is None:
        return 2
    try:
        out = export_bundle(Path.cwd(), args.out, cfg, args.models, card=args.card,
                            planet_fraction=args.planet_fraction)
    except (ModelMismatchError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(describe(load_models(out)))
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


def _duration_days(text: str) -> float:
    """'3.4h' or '0.14d' or '0.14' (days, as Astronet's predict.py takes it)."""
    text = text.strip().lower()
    if text.endswith("h"):
        return float(text[:-1]) / 24.0
    return float(text[:-1] if text.endswith("d") else text)


def _score(args) -> int:
    import pandas as pd
    from .config import load
    from .lightcurves.locate import expand_sources, files_of_star
    from .lightcurves.mast import find_kepler_lightcurves, find_tess_lightcurves
    from .model_files import ModelMismatchError
    from .scoring import ScoreError, read_as_bjd_note, score
    from .utils import TargetError
    star, mission = (args.kic, "kepler") if args.kic else (args.tic, "tess")
    cfg = load(args.config) if args.config else load()
    try:
        if args.lightcurves:       # files, globs or folders of any layout: matched by name or header
            try:
                files = files_of_star(args.lightcurves, star)
                n_given = len(expand_sources(args.lightcurves))
            except FileNotFoundError as exc:
                raise ScoreError(str(exc)) from exc
            if not files:
                raise ScoreError(f"no light curve of {'KIC' if mission == 'kepler' else 'TIC'} {star} among the "
                                 f"{n_given} FITS file(s) of {' '.join(args.lightcurves)} (matched by MAST's file "
                                 "names and by each file's TICID, KEPLERID, TIC_ID or OBJECT header)")
        else:
            from .catalog.sources import cache_dir
            find = find_kepler_lightcurves if mission == "kepler" else find_tess_lightcurves
            files = find(cache_dir(cfg), star) or _download(star, mission, cfg, args.sectors)
            if not files:
                raise ScoreError(f"no light curve of {'KIC' if mission == 'kepler' else 'TIC'} {star} in the download "
                                 f"cache {cache_dir(cfg)}; give --lightcurves (files, globs or a folder), or run "
                                 "without it online to download them")
        out = score(files, {"period": args.period, "epoch": args.t0, "duration": _duration_days(args.duration),
                            "star_id": str(int(star))}, args.models, time_system=args.time_system)
    except (ScoreError, ModelMismatchError, TargetError) as exc:
        print(f"exosieve score: {exc}", file=sys.stderr)
        return 2
    signal = out.iloc[0]
    # The epoch's reading by its value, beside the epoch it gave, or beside the error it may explain.
    bjd_note = read_as_bjd_note(args.t0, "--time-system") if args.time_system is None and \
        signal.epoch_read_as == "BJD" else ""
    if signal.status == "failed":
        print(f"exosieve score: {signal.error}" + (f" ({bjd_note})" if bjd_note else ""), file=sys.stderr)
        return 1
    names = [c for c in out.columns if f"{c}_std" in out.columns]
    table = pd.DataFrame([{"model": m, "probability": signal[m], "fold spread": signal[f"{m}_std"],
                           "raw score": signal[f"{m}_raw"],
                           "top branch": max(((c[len(m) + 6:], signal[c]) for c in out.columns
                                              if c.startswith(f"{m}_attr_")), key=lambda kv: abs(kv[1]),
                                             default=("-", 0))[0]} for m in names])
    print(f"{'KIC' if mission == 'kepler' else 'TIC'} {star}: P = {args.period:g} d, epoch {signal.epoch:.5f} "
          f"({'BKJD' if mission == 'kepler' else 'BTJD'}), duration {signal.duration * 24:.3g} h, {len(files)} file(s)")
    if bjd_note:
        print(f"  {bjd_note}")
    print(f"models: {out.attrs['models']}{'' if args.models else ' (shipped with ExoSieve; exosieve info shows its card)'}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if signal.get("products"):
        print(f"light curves read as: {signal.products}")
    chosen = out.attrs.get("lightcurves", {}).get(str(signal.star_id), {})
    for name, why in [*chosen.get("unused", []), *chosen.get("notes", []), *chosen.get("skipped", [])]:
        print(f"  {name}: {why}")
    if signal.status == "flagged":
        print(f"flagged, not to be read as a verdict: {signal.flag}")
    if args.sheet:   # the model that reads the most (exominer when present) draws the sheet
        primary = max(names, key=lambda m: sum(c.startswith(f"{m}_attr_") for c in out.columns))
        _score_sheet(out, primary, args.sheet, mission)
        print(f"diagnostic sheet: {args.sheet}")
    return 0


def _download(star: str, mission: str, cfg: dict, sectors) -> list:
    from .catalog.sources import cache_dir
    from .http import RetryPolicy
    from .lightcurves.download import download_kepler, download_tess
    a = cfg["archive"]
    if mission == "kepler":
        index, _ = download_kepler([str(int(star))], cache_dir(cfg), a["mast_url"], RetryPolicy.from_config(a),
                                   offline=cfg["offline"], workers=1, progress=False)
    else:
        if not sectors:
            raise ValueError("a TESS star not in the cache needs --sectors (the sectors to download)")
        index, _ = download_tess([str(int(star))], sectors, cache_dir(cfg), a["mast_url"], RetryPolicy.from_config(a),
                                 offline=cfg["offline"], workers=1, progress=False)
    return [Path(p) for p in index.path]


def _score_sheet(out, model: str, path: str, mission: str) -> None:
    """The sheet of the one signal scored: ``model``'s attributions, every model's probability."""
    import pandas as pd
    from .sheets import ModelScore, draw_sheet
    signal = out.iloc[0]
    names = [c for c in out.columns if f"{c}_std" in out.columns]
    row = pd.Series({"tce_id": signal.tce_id, "star_id": signal.star_id, "period": signal.period,
                     "epoch": signal.epoch, "duration_hours": signal.duration * 24, "depth_ppm": signal.depth,
                     "measured_depth_ppm": signal.get("measured_depth", float("nan")),
                     "secondary_phase": signal.get("measured_secondary_phase", float("nan")), "flag": signal.flag,
                     "missing": signal.get("missing", ""), "products": signal.get("products", ""),
                     **{f"attr_{c[len(model) + 6:]}": signal[c] for c in out.columns if c.startswith(f"{model}_attr_")}})
    scores = [ModelScore(m, signal[m], signal[f"{m}_std"]) for m in [model, *(n for n in names if n != model)]]
    draw_sheet(row, out.attrs["views"][signal.tce_id], Path(path), "scored", out.attrs["views_config"], scores, mission)


def _tune(args) -> int:
    from .layout import RunLayout
    from .shards import read_shard_list
    from .tuning import tune_fold
    from .utils import setup_logging
    setup_logging()
    cfg = _load_config(args.config)
    if cfg is None:
        return 2
    layout = RunLayout(cfg["results"])
    shard_list, folds_csv = Path(layout.shard_list()), Path(layout.folds())
    if not shard_list.exists() or not folds_csv.exists():
        print(f"exosieve tune: {shard_list} or {folds_csv} is missing; build them first: "
              "snakemake --cores N shard_list folds", file=sys.stderr)
        return 2
    folds = args.folds if args.folds is not None else range(cfg["cv"]["folds"])
    for model in args.models or cfg["tune"]["models"]:
        for fold in folds:
            summary = tune_fold(read_shard_list(shard_list), str(folds_csv), fold, cfg, model,
                                layout.tune_dir(model, fold))
            print(f"{model} fold {fold}: {summary['trials']} trials ({summary['pruned']} pruned, {summary['failed']} "
                  f"failed), best inner PR-AUC {summary['best_value']:.4f}: {summary['best']}")
    return 0


def _load_config(path: str) -> dict | None:
    """The validated config, or None after printing why it is not valid."""
    from .config import ConfigError, load
    try:
        return load(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return None


def _check_config(args) -> int:
    import yaml
    cfg = _load_config(args.config)
    if cfg is None:
        return 2
    print(yaml.safe_dump(cfg, sort_keys=False))
    return 0


def _predict(args) -> int:
    from .predict import predict_targets
    from .utils import setup_logging
    setup_logging()
    cfg = _load_config(args.config)
    if cfg is None:
        return 2
    if args.models:
        cfg = {**cfg, "models": {**cfg["models"], "from": args.models}}
    out = predict_targets(cfg, args.targets, args.out)
    print(out.to_string(index=False))
    print(f"wrote {args.out}")
    return 0 if out["error"].isna().all() else 1


def _plan(args) -> int:
    from .plan import PlanError, plan_update
    cfg = _load_config(args.config)
    if cfg is None:
        return 2
    try:
        plan = plan_update(cfg)
    except PlanError as exc:
        print(f"exosieve plan: {exc}", file=sys.stderr)
        return 2
    print(f"What `snakemake` will redo for {args.config} (results in {cfg['results']}):")
    print(plan.format())
    return 0


def _check_archives(args) -> int:
    from .archive_check import check_archives, format_checks
    cfg = _load_config(args.config)
    if cfg is None:
        return 2
    print(f"Checking the archives named in {args.config}: TAP {cfg['archive']['tap_url']}, "
          f"MAST {cfg['archive']['mast_url']}")
    results = check_archives(cfg)
    print(format_checks(results))
    return 0 if all(r.ok for r in results) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="exosieve", description="Vet transit signals (TCEs) with a "
                                     "multi-branch CNN. The workflow itself runs with `snakemake --cores N`.")
    parser.add_argument("--version", action="version", version=f"exosieve {__version__}")
    sub = parser.add_subparsers(dest="command")
    sim = sub.add_parser("simulate", help="write a simulated survey (DR24 catalog + Kepler FITS) to a folder")
    sim.add_argument("--out", required=True, help="output folder")
    sim.add_argument("--stars", type=int, default=200)
    sim.add_argument("--quarters", type=int, default=6, choices=range(1, 18), metavar="1..17")
    sim.add_argument("--seed", type=int, default=2024)
    info = sub.add_parser("info", help="print a shard's schema, counts and provenance, or what a model bundle or a "
                          "run's models hold")
    info.add_argument("shard", metavar="PATH", help="a shard (.h5), a bundle (or a shipped bundle's name, e.g. "
                      "kepler_simulated), or a finished run's folder")
    chk = sub.add_parser("check-config", help="validate a config file and print it with defaults filled in")
    chk.add_argument("config", nargs="?", default="config.yaml")
    arc = sub.add_parser("check-archives", help="one small request to each archive endpoint (TAP tables, MAST "
                         "listings): run it first on a new machine or cluster")
    arc.add_argument("--config", default="config.yaml", help="config naming archive.tap_url and archive.mast_url")
    plan = sub.add_parser("plan", help="what a rerun will redo after a catalog, label or light-curve update: "
                          "shards, and stars preprocessed again")
    plan.add_argument("--config", default="config.yaml", help="the updated config (default config.yaml)")
    pred = sub.add_parser("predict", help="score named stars' TCEs with every fold model of a finished run")
    pred.add_argument("targets", nargs="+", help="KIC or TIC ids, as the configured source names its stars (or one file with an id per line)")
    pred.add_argument("--config", default="config.yaml", help="the finished run's config (default config.yaml)")
    pred.add_argument("--out", default="predictions.csv")
    pred.add_argument("--models", help="score with these models instead of the run's own: a bundle or another run's "
                      "folder (its views geometry must be this config's)")
    sc = sub.add_parser("score", help="score one ephemeris of a Kepler or TESS star with a run's models or a bundle",
                        description="Score one signal (e.g. from your own BLS/TLS search, or a community TOI): "
                        "its light curves come from --lightcurves (files, globs or folders of any layout) or the download cache "
                        "(downloaded when missing, if online).")
    who = sc.add_mutually_exclusive_group(required=True)
    who.add_argument("--kic", help="Kepler star (KIC id)")
    who.add_argument("--tic", help="TESS star (TIC id)")
    sc.add_argument("--period", type=float, required=True, help="period [d]")
    sc.add_argument("--t0", type=float, required=True, help="epoch of a transit (BKJD for Kepler, BTJD for TESS, "
                    "unless --time-system says BJD; an epoch above 2,400,000 is read as BJD)")
    sc.add_argument("--duration", required=True, help="transit duration: days, or with a unit: 3.4h, 0.14d")
    sc.add_argument("--time-system", choices=["BKJD", "BTJD", "BJD"], default=None)
    sc.add_argument("--lightcurves", nargs="+", help="light-curve files, glob patterns or folders of any layout and "
                    "product (Kepler, SPOC, TESS-SPOC, QLP, TGLC, eleanor, lightkurve-written), matched to the star by "
                    "file name or header (default: the download cache)")
    sc.add_argument("--sectors", type=int, nargs="*", help="TESS: the sectors to download when not cached")
    sc.add_argument("--models", default=None, help="a model bundle (exosieve export-models), a shipped bundle's name, "
                    "or a finished run's folder (default: the bundle ExoSieve ships for the light curves' mission)")
    sc.add_argument("--sheet", help="write the diagnostic sheet (views, score, attributions) to this PNG")
    sc.add_argument("--config", default=None, help="config for the download cache and archive (default: built-in)")
    exp = sub.add_parser("export-models", help="write a finished run's fold ensembles as one portable bundle")
    exp.add_argument("--config", default="config.yaml", help="the finished run's config (default config.yaml)")
    exp.add_argument("--out", default="models.exosieve", help="the bundle to write (default models.exosieve)")
    exp.add_argument("--models", nargs="*", default=None, help="which models (default every enabled one)")
    exp.add_argument("--card", default=None, help="a model card (Markdown) to store in the bundle; exosieve info "
                     "shows it")
    exp.add_argument("--planet-fraction", type=float, default=None, help="make the bundle's probabilities those "
                     "for a catalog of this planet fraction (0-1) rather than the training TCEs' (e.g. 0.5 for "
                     "TOIs, about half of them planets, from a model trained on every TCE of a survey)")
    tun = sub.add_parser("tune", help="run (or resume) the hyperparameter studies of a run's CNNs, fold by fold, as "
                         "`snakemake tune` does; several at once share a study")
    tun.add_argument("--config", default="config.yaml")
    tun.add_argument("--models", nargs="*", default=None, help="which CNNs (default tune.models)")
    tun.add_argument("--folds", type=int, nargs="*", default=None, help="which outer folds (default all)")
    args = parser.parse_args(argv)
    if args.command == "predict" and len(args.targets) == 1 and not args.targets[0].isdigit():
        args.targets = args.targets[0]  # a file of ids
    if args.command == "simulate":
        return _simulate(args)
    if args.command == "info":
        return _info(args)
    if args.command == "check-config":
        return _check_config(args)
    if args.command == "predict":
        return _predict(args)
    if args.command == "check-archives":
        return _check_archives(args)
    if args.command == "plan":
        return _plan(args)
    if args.command == "score":
        return _score(args)
    if args.command == "export-models":
        return _export_models(args)
    if args.command == "tune":
        return _tune(args)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
