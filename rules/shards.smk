# Stars -> shards by a stable hash of the star id. A checkpoint whose declared output is a small
# manifest: per-shard target lists are side files rewritten only when their content changed, so a
# catalog update reruns only the shards whose stars changed (a directory() output would be wiped).


checkpoint assign_shards:
    input:
        tces=L.tces(),
    output:
        manifest=L.shard_manifest(),
    params:
        code=CODE["assign_shards"],
        shards=config["shards"],
        targets_dir=L.shard_targets_dir(),
    # Seconds of work: run on the submitting host, not as a cluster job.
    localrule: True
    log:
        L.log("assign_shards"),
    benchmark:
        L.benchmark("assign_shards")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=RUNTIME,
    conda:
        ENV
    script:
        "../workflow_scripts/assign_shards.py"


# The built shards, listed in one small file. Training (with its fold's scoring) and the report
# take this file, not every shard: a job that lists all N shards costs Snakemake O(N) at each DAG
# update after the checkpoint, and 41 of them (train, evaluate, report) made the plan O(jobs x shards).
rule shard_list:
    input:
        shards=shard_paths(L.shard("{shard}")),
        # Read by the report beside each shard: listed here so that they are up to date too.
        failures=shard_paths(L.shard_failures("{shard}")),
    output:
        shard_list=L.shard_list(),
    params:
        code=CODE["shard_list"],
    # Reads each shard's header only: run on the submitting host.
    localrule: True
    log:
        L.log("shard_list"),
    benchmark:
        L.benchmark("shard_list")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=RUNTIME,
    conda:
        ENV
    script:
        "../workflow_scripts/shard_list.py"
