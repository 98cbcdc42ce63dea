"""Several servers as one cluster: membership and coordination in etcd (see
ARCHITECTURE.md, "The cluster")."""

from .etcd_member import ClusterSetupError
from .service import Cluster, ClusterOptions

__all__ = ["Cluster", "ClusterOptions", "ClusterSetupError"]
