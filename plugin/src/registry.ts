// The gadget registry (webhooks/http/gadgets.json), shared with the Flask service, the manifest lint
// and dashboard provisioning. Vite inlines the JSON into the bundle, so Forge needs no extra resource.
import registry from '../../webhooks/http/gadgets.json';

export interface RegisteredGadget {
  name: string;
  forgeKey: string;
  title: string;
  description: string;
  height: number;
  thumbnail: string;
}

export const GADGETS: readonly RegisteredGadget[] = registry.gadgets;

export const GADGET_NAMES: readonly string[] = GADGETS.map((g) => g.name);

/** Forge `jira:dashboardGadget` module key -> gadget name. */
export const MODULE_TO_GADGET: Readonly<Record<string, string>> = Object.fromEntries(GADGETS.map((g) => [g.forgeKey, g.name]));
