"""Light curves: MAST's file layout (``mast``), the one FITS reader (``reader``) and per-shard
location or generation of each star's files (``obtain``).

Nothing is imported here: the workflow's plan needs ``mast`` (file names) without the reader's
astropy, which costs a second at every ``snakemake`` start."""
