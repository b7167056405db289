"""A stand-in for pulumi_alicloud in the real-engine suite: its provider binary cannot be had offline.

Only what examples/gate_jar_deletion uses (`oss.Bucket`, `oss.BucketObject`), as dynamic
resources that keep the "bucket" in a local directory ($FOAS_STANDIN_OSS_DIR), so a test can
see whether the engine deleted the jar. Found first through PYTHONPATH, by the program and by
the provider host alike.
"""

from . import oss

__all__ = ["oss"]
