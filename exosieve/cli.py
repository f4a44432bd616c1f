"""The ``exosieve`` command: version, simulated surveys, shard inspection, config checks, archive
checks (``check-archives``), what a rerun will redo (``plan``), and scoring named targets with a
finished run (``predict``)."""

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
    info = sub.add_parser("info", help="print a shard's schema, counts and provenance")
    info.add_argument("shard")
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
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
