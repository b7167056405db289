"""A second stack that decides from the first stack's outputs, and re-checks live.

The StackReference values are what the producer stack saw at its last
`pulumi up`; the RefPackageJobs below, fed by them, is this stack's own live
reading of the same package.
"""

import pulumi

from foas_refjobs import RefPackageJobs

config = pulumi.Config()
producer = pulumi.StackReference(config.require("producerStack"))

project = producer.require_output("project_name")
package = producer.require_output("package_name")
referenced = producer.require_output("referenced")
job_names = producer.require_output("job_names")


def decide(values: list) -> str:
    project_name, package_name, in_use, names = values
    if in_use:
        pulumi.log.warn(f"{package_name} in {project_name} is still used by {len(names)} job(s): "
                        f"{', '.join(names)}; keep it")
        return "keep"
    return "safe-to-delete"


pulumi.export("jar_decision", pulumi.Output.all(project, package, referenced, job_names)
              .apply(decide))

live = RefPackageJobs("recheck", project_name=project, package_name=package,
                      committed_only=True)
pulumi.export("live_committed_count", live.total_count)
pulumi.export("live_committed_job_ids", live.job_ids)
