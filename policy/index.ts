/**
 * krc's policy pack: `pulumi preview --policy-pack policy`. Every rule is mandatory, so a
 * violation blocks the preview and the update. See docs/ci.md for how it runs.
 */
import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./policies";

new PolicyPack("krc-hardening", { enforcementLevel: "mandatory", policies: POLICIES });
