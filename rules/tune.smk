# Tune stage (`snakemake --cores N tune`): an Optuna study per (CNN, outer fold) on that fold's
# training TCEs only (exosieve/tuning.py). A model with models.<name>.from_tuning trains each fold
# with its own study's best settings, so a normal run then runs the studies first.


rule tune_fold:
    input:
        shard_list=L.shard_list(),
        folds=L.folds(),
    output:
        best=L.tune_file("{model}", "{fold}", "best.yaml"),
        trials=L.tune_file("{model}", "{fold}", "trials.csv"),
        importances=L.tune_file("{model}", "{fold}", "importances.csv"),
    params:
        code=CODE["tune"],
        # A new search space or budget reruns the study (a fresh one in the same journal file).
        settings=per_model_settings("tune"),
        operational=operational,
        out_dir=lambda wildcards, output: os.path.dirname(output.best),
    wildcard_constraints:
        model="exominer|astronet|raw_flux",
    log:
        L.log("tune", "{model}", L.fold_name("{fold}")),
    benchmark:
        L.benchmark("tune", "{model}", L.fold_name("{fold}"))
    threads: config["training"]["threads"]
    resources:
        mem_mb=lambda wc, input: cluster.train_mem_mb(
            cluster.shards_mb(input.shard_list),
            cluster.count_rows(input.folds),
            config["resources"]["train_mem_mb"],
            config["resources"]["views_in_memory_mb"],
        ),
        runtime=int(config["tune"]["timeout_min"] or RUNTIME) + 30,
        gpu=config["resources"]["train_gpus"],
    conda:
        ENV
    script:
        "../workflow_scripts/tune.py"


rule tune:
    input:
        expand(L.tune_file("{model}", "{fold}", "best.yaml"), model=TUNED, fold=FOLDS),
