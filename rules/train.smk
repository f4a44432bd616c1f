# Train stage: one job per (model, fold); GPU with mixed precision when present, CPU otherwise.
# Every model trains on the same folds, so the report compares them like for like. The job ends by
# scoring its test fold and the unlabelled TCEs with the saved model (with branch attributions for
# the CNNs): a job of its own spent 5 of its 6 seconds starting Python and importing torch.


if not FROM:

    rule train:
        input:
            training_inputs,
            tuned_settings,
            shard_list=L.shard_list(),
            folds=L.folds(),
        output:
            model=L.model_file("{model}", "{fold}"),
            history=L.training_history("{model}", "{fold}"),
            scores=L.scores("{model}", "{fold}"),
        params:
            code=CODE["train"],
            settings=per_model_settings("train"),
            operational=operational,
            out_dir=L.model_dir("{model}", "{fold}"),
        wildcard_constraints:
            model="|".join(MODELS),
        log:
            L.log("train", "{model}", L.fold_name("{fold}")),
        benchmark:
            L.benchmark("train", "{model}", L.fold_name("{fold}"))
        threads: config["training"]["threads"]
        resources:
            # Scaled with the shards and the catalog (exosieve/cluster.py); the config's are floors.
            mem_mb=lambda wc, input: cluster.train_mem_mb(
                cluster.shards_mb(input.shard_list),
                cluster.count_rows(input.folds),
                config["resources"]["train_mem_mb"],
                config["resources"]["views_in_memory_mb"],
            ),
            runtime=lambda wc, input: cluster.train_runtime(
                cluster.count_rows(input.folds), config["training"]["max_epochs"], RUNTIME
            ),
            # Trees train on CPU; only the CNNs ask a cluster for a GPU.
            gpu=lambda wc: 0 if wc.model == "trees" else config["resources"]["train_gpus"],
        conda:
            ENV
        script:
            "../workflow_scripts/train.py"

else:

    # models.from: the fold ensemble of models trained elsewhere scores each fold's TCEs (fold 0's
    # job the unlabelled ones too); nothing trains here.
    rule score_with_models:
        input:
            shard_list=L.shard_list(),
            folds=L.folds(),
            models=lambda wc: FROM_FILES[wc.model],
        output:
            scores=L.scores("{model}", "{fold}"),
        params:
            code=CODE["score_with_models"],
            settings=settings("score_with_models"),
            source=FROM,
        wildcard_constraints:
            model="|".join(MODELS),
        log:
            L.log("score_with_models", "{model}", L.fold_name("{fold}")),
        benchmark:
            L.benchmark("score_with_models", "{model}", L.fold_name("{fold}"))
        threads: 1
        resources:
            mem_mb=lambda wc, input: cluster.train_mem_mb(
                cluster.shards_mb(input.shard_list),
                cluster.count_rows(input.folds),
                config["resources"]["train_mem_mb"],
                0,
            ),
            runtime=RUNTIME,
        conda:
            ENV
        script:
            "../workflow_scripts/score_with_models.py"
