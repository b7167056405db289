"""Which Realtime Compute jobs reference a jar, as stack outputs other stacks can read.

Re-read on every `pulumi up`/`preview`/`refresh`: the preview shows
`~ update` on `ref-jobs` exactly when the live list changed since the last up.
"""

import pulumi

from foas_refjobs import RefPackageJobs, get_ref_package_jobs_output

config = pulumi.Config()
project = config.require("project")
package = config.require("package")

jobs = RefPackageJobs(
    "ref-jobs",
    project_name=project,
    package_name=package,
    job_type=config.get("jobType") or None,
    committed_only=config.get_bool("committedOnly") or False,
)

pulumi.export("project_name", jobs.project_name)
pulumi.export("package_name", jobs.package_name)
pulumi.export("job_ids", jobs.job_ids)
pulumi.export("job_names", jobs.job_names)
pulumi.export("total_count", jobs.total_count)
pulumi.export("referenced", jobs.referenced)

# The function form lists in the program itself: known even during the first preview.
committed = get_ref_package_jobs_output(project_name=project, package_name=package,
                                        committed_only=True)
pulumi.export("committed_count", committed.total_count)
