from keras import layers

from fusion_search.models.fusion._base import Fusion, register_fusion

TOKENS = ("branches", "feature_map")


@register_fusion
class Attention(Fusion):
    """Multi-head self-attention over modality tokens, then mean-pooled.

    Tokens x_i (width d): W_v v and W_t t, plus with ``attention_tokens: feature_map`` one token per
    position of the backbone's last feature map (W_m m_ij). Then X' = LayerNorm(X + MHA(X, X, X)) with
    ``attention_heads`` heads and h = mean_i X'_i. Vaswani et al., "Attention Is All You Need" (2017);
    as a fusion of modality tokens: Nagrani et al., "Attention Bottlenecks for Multimodal Fusion"
    (NeurIPS 2021) and AutoGluon's fusion transformer.
    """

    name = "attention"
    _feature_map = None  # set by on_feature_map when the map's positions become tokens

    def on_feature_map(self, feature_map, t):
        if self.design.attention_tokens not in TOKENS:
            raise ValueError(f"attention_tokens must be one of {TOKENS}, got {self.design.attention_tokens!r}")
        self._feature_map = feature_map if self.design.attention_tokens == "feature_map" else None
        return feature_map

    def fuse(self, v, t):
        width = self.design.fusion_units
        tokens = [layers.Reshape((1, width), name=f"fusion_token_{side}")(
                  self.project(x, "linear", f"fusion_embed_{side}")) for side, x in (("image", v), ("numeric", t))]
        if self._feature_map is not None:
            positions = self._feature_map.shape[1] * self._feature_map.shape[2]
            embedded = layers.Dense(width, name="fusion_embed_map")(self._feature_map)
            tokens.append(layers.Reshape((positions, width), name="fusion_token_map")(embedded))
        x = layers.Concatenate(axis=1, name="fusion_tokens")(tokens)
        heads = self.design.attention_heads
        attended = layers.MultiHeadAttention(heads, key_dim=max(1, width // heads), name="fusion_attention")(x, x)
        x = layers.Add(name="fusion_attention_residual")([x, attended])
        x = layers.LayerNormalization(name="fusion_attention_norm")(x)
        return layers.GlobalAveragePooling1D(name="fusion_attention_pool")(x)
