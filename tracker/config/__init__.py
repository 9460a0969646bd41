"""Cluster configuration: schema and loader."""

from tracker.config.loader import load_config, shipped_configs
from tracker.config.schema import ClusterConfig

__all__ = ["ClusterConfig", "load_config", "shipped_configs"]
