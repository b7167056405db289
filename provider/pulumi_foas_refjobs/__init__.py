"""Marker package, not code: it carries pulumi-plugin.json.

Pulumi's Python language host treats every installed distribution named
`pulumi-*` as a resource plugin unless `<site-packages>/pulumi_<name>/pulumi-plugin.json`
says `"resource": false`; without it, `pulumi up` tries to download a
non-existent `pulumi-resource-foas-refjobs` plugin. Import `foas_refjobs`.
"""
