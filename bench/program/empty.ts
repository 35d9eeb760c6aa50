/**
 * The baseline program: loads the Pulumi SDK like any program and registers nothing, so the
 * difference to the full program is what our own code costs.
 */
import * as pulumi from "@pulumi/pulumi";

/** One output, so the runner's export handling is exercised the same way. */
export const project = pulumi.getProject();
