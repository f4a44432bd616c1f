# Report stage: metrics, curves, vetted catalog and index.html in results/report/.


rule report:
    input:
        unpack(report_extras),
        tces=L.tces(),
        rejected=L.rejected(),
        folds=L.folds(),
        scores=expand(L.scores("{model}", "{fold}"), model=MODELS, fold=FOLDS),
        # Trained here: each fold's per-epoch history (none with models.from).
        histories=[] if FROM else expand(L.training_history("{model}", "{fold}"), model=MODELS, fold=FOLDS),
        shard_list=L.shard_list(),
        # The page's prose and markup (Jinja2), beside the captions: editing it redoes the report.
        template=os.path.join(_REPO, "report", "index.html.j2"),
    # The report's main tables and figures are also registered for `snakemake --report`, each with
    # its caption (report/*.rst); everything else is linked from index.html.
    output:
        index=REPORT_FILES[0],
        metrics=report(REPORT_FILES[1], caption="../report/metrics.rst", category="Models"),
        vetted=report(REPORT_FILES[2], caption="../report/vetted_catalog.rst", category="Vetted catalog"),
        comparison=report(L.report_file("model_comparison.csv"), caption="../report/model_comparison.rst", category="Models"),
        calibration=report(L.report_file("calibration.csv"), caption="../report/calibration.rst", category="Calibration"),
        reliability=report(L.report_file("reliability_diagram.png"), caption="../report/reliability_diagram.rst",
                           category="Calibration"),
        model_pr=report(L.report_file("model_pr_curves.png"), caption="../report/model_pr_curves.rst", category="Models"),
        pr=report(L.report_file("pr_curve.png"), caption="../report/pr_curve.rst", category="Primary model"),
        roc=report(L.report_file("roc_curve.png"), caption="../report/roc_curve.rst", category="Primary model"),
        histogram=report(L.report_file("score_histogram.png"), caption="../report/score_histogram.rst",
                         category="Primary model"),
        confusion=report(L.report_file("confusion_matrix.png"), caption="../report/confusion_matrix.rst",
                         category="Primary model"),
        **({} if FROM else {"training": report(L.report_file("training_curves.png"),
                                               caption="../report/training_curves.rst", category="Primary model")}),
    params:
        code=CODE["report"],
        # With the primary model (behind the vetted catalog, the explanations and the sheets) and
        # the multiplicity prior (it changes every score the report shows).
        settings=settings("report"),
        out_dir=lambda wildcards, output: os.path.dirname(output.index),
    # A few plots from small tables: run on the submitting host.
    localrule: True
    log:
        L.log("report"),
    benchmark:
        L.benchmark("report")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=RUNTIME,
    conda:
        ENV
    script:
        "../workflow_scripts/report.py"
