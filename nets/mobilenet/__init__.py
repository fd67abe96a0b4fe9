"""MobileNet V2 and V3, drop-in for research/slim's `nets.mobilenet` package.

`mobilenet` is the builder (`mobilenet_base`, `mobilenet`, `training_scope`,
`op`), `conv_blocks` the layers it stacks (`expanded_conv`,
`squeeze_excite`, ...), `mobilenet_v2` and `mobilenet_v3` the networks as
lists of op definitions (`V2_DEF`, `V3_LARGE`, `V3_SMALL`, ...).
"""
