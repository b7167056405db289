"""A jar in OSS that cannot be deleted while Realtime Compute jobs reference it.

Pulumi deletes dependents before what they depend on, so on `pulumi destroy`
(or when the jar is removed from this program, or replaced) the guard's delete
runs first: it lists the referencing jobs and fails while there are any, which
keeps the guard in the stack and stops the jar's deletion. Pass the jar as
`jar=`, not only in `depends_on`: that also covers a replacement with
`delete_before_replace` (see docs/pulumi.md).
"""

import os

import pulumi
import pulumi_alicloud as alicloud

from foas_refjobs import PackageDeletionGuard

config = pulumi.Config()
project = config.require("project")
jar_path = config.require("jarPath")
package = config.get("package") or os.path.basename(jar_path)

bucket = alicloud.oss.Bucket("jars", bucket=config.require("bucket"))
jar = alicloud.oss.BucketObject("jar", bucket=bucket.bucket, key=f"jars/{package}",
                                source=jar_path)

guard = PackageDeletionGuard(
    "jar-guard",
    project_name=project,
    package_name=package,
    block_on=config.get("blockOn") or "any",
    jar=jar,
)

pulumi.export("jar_key", jar.key)
pulumi.export("guarded_package", guard.package_name)
