"""Several servers as one cluster: membership and coordination in etcd (see
ARCHITECTURE.md, "The cluster")."""

from .etcd_member import ClusterSetupError
from .replication import Replication
from .service import Cluster, ClusterOptions
from .tables import CatalogActions, TableConfig, TableDirectory

__all__ = ["CatalogActions", "Cluster", "ClusterOptions", "ClusterSetupError", "Replication", "TableConfig", "TableDirectory"]
