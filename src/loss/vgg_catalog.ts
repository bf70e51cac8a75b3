/**
 * The VGG layer names a JSON spec may use when no network is given.
 *
 * @module
 */
import { isVggLayerName, type VggArchitecture, vggLayers } from "../vgg/layers.ts";

/** The networks a spec can name: the VGG architectures. */
export type NetworkName = VggArchitecture;

/** Every {@linkcode NetworkName}. */
export const NETWORK_NAMES: readonly NetworkName[] = ["vgg16", "vgg19"];

/** Layer names (Keras names; aliases such as `relu2_2` are accepted too) and a label for messages. */
export interface LayerCatalog {
  /** How messages name the network, e.g. `VGG-16`. */
  readonly label: string;
  /** Canonical names, offered as suggestions. */
  readonly names: readonly string[];
  /** Whether a name or alias is a layer. */
  has(layer: string): boolean;
}

/** The catalog of a VGG architecture. */
export function vggCatalog(network: NetworkName): LayerCatalog {
  return {
    label: network === "vgg16" ? "VGG-16" : "VGG-19",
    names: vggLayers(network),
    has: (l) => isVggLayerName(network, l),
  };
}
