"""TCE catalogs: every source becomes one normalized internal table (see ``table``).

Sources are pluggable: ``sources.SOURCES`` maps ``catalog.source`` to the code that reads the
source's raw catalog and locates or obtains its light curves.
"""

from .table import (CatalogError, NORMALIZED_COLUMNS, STELLAR_COLUMNS, read_normalized,
                    write_normalized)

__all__ = ["CatalogError", "NORMALIZED_COLUMNS", "STELLAR_COLUMNS", "read_normalized",
           "write_normalized"]
